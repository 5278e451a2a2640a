package terminal

import (
	"regexp"
	"strings"

	"github.com/m1-project/m1/agent"
)

// Languages the terminal runs, as CodeBlock.Language holds them.
const (
	LangPython = "python"
	LangSh     = "sh"
	LangBash   = "bash"
)

// CodeBlock is one fenced block of a message.
type CodeBlock struct {
	// Tag is the fence's info word as written ("py", "Bash", ""), lower-cased.
	Tag string
	// Language is LangPython, LangSh or LangBash, or "" when the block is not
	// runnable (untagged or another language).
	Language string
	// Code is the block's text without the fences.
	Code string
	// Filename is the name given by a first line "# filename: NAME", or "".
	// It is not validated here; executors refuse names that leave the work
	// dir.
	Filename string
	// Closed is false when the message ended inside the block.
	Closed bool
}

// Runnable reports whether the terminal runs b.
func (b CodeBlock) Runnable() bool { return b.Closed && b.Language != "" }

// languages maps fence tags to the language that runs them.
var languages = map[string]string{
	"python":  LangPython,
	"python3": LangPython,
	"py":      LangPython,
	"sh":      LangSh,
	"shell":   LangSh,
	"bash":    LangBash,
}

// openFence matches an opening fence with up to three spaces of indentation,
// as CommonMark allows, and captures the fence and the info string.
var openFence = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*(.*)$")

// filenameLine matches a first line "# filename: NAME".
var filenameLine = regexp.MustCompile(`^\s*#\s*filename:\s*(.+?)\s*$`)

// latestBlocks returns the fenced blocks of the most recent message in thread
// that has any. The orchestrator's messages are skipped because its plans and
// ledgers quote code without asking for it to run, and the terminal's own
// replies are skipped because they quote program output.
func latestBlocks(thread []agent.Message) []CodeBlock {
	for i := len(thread) - 1; i >= 0; i-- {
		m := thread[i]
		if strings.EqualFold(m.Source, agent.OrchestratorName) || strings.EqualFold(m.Source, agent.ComputerTerminalName) {
			continue
		}
		if blocks := ExtractBlocks(m.Content); len(blocks) > 0 {
			return blocks
		}
	}
	return nil
}

// ExtractBlocks returns the fenced code blocks of a markdown text in order,
// runnable or not.
func ExtractBlocks(text string) []CodeBlock {
	var (
		blocks []CodeBlock
		cur    *CodeBlock
		fence  string
		body   []string
	)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if cur == nil {
			m := openFence.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			// A backtick fence's info string may not contain backticks:
			// ```python``` on one line is inline code, not a block.
			if m[1][0] == '`' && strings.Contains(m[2], "`") {
				continue
			}
			tag := strings.ToLower(firstWord(m[2]))
			tag = strings.Trim(tag, "{}.")
			cur = &CodeBlock{Tag: tag, Language: languages[tag]}
			fence = m[1]
			body = body[:0]
			continue
		}
		if isClosingFence(line, fence) {
			cur.Closed = true
			blocks = append(blocks, finish(*cur, body))
			cur = nil
			continue
		}
		body = append(body, line)
	}
	if cur != nil {
		blocks = append(blocks, finish(*cur, body))
	}
	return blocks
}

func finish(b CodeBlock, body []string) CodeBlock {
	b.Code = strings.Join(body, "\n")
	if len(body) > 0 {
		if m := filenameLine.FindStringSubmatch(body[0]); m != nil {
			b.Filename = strings.Trim(m[1], "\"'`")
		}
	}
	if b.Code != "" {
		b.Code += "\n"
	}
	return b
}

// isClosingFence reports whether line closes a block opened with fence: the
// same character, at least as many times, nothing else but spaces.
func isClosingFence(line, fence string) bool {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return false
	}
	t = strings.TrimRight(t, " \t")
	if len(t) < len(fence) {
		return false
	}
	return strings.Trim(t, fence[:1]) == ""
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}
