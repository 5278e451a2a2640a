package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of two neighbours each
// cost one, so "versoin" is one step from "version".
func editDistance(a, b string) int {
	s, t := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range t {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

// closest returns the candidate typed most likely meant: within one edit
// of a name of four letters or less, two of a longer one, or a prefix of
// three letters or more. Short names get the tighter bound, or every
// four-letter word would be a typo of "show" or "read".
func closest(typed string, candidates []string) string {
	best, bestDist := "", 99
	for _, c := range candidates {
		d := editDistance(typed, c)
		if len([]rune(typed)) >= 3 && strings.HasPrefix(strings.ToLower(c), strings.ToLower(typed)) {
			d = min(d, 1)
		}
		limit := 2
		if len([]rune(c)) <= 4 {
			limit = 1
		}
		if d <= limit && d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// commandNames lists the names and aliases of c's subcommands a person
// may type, help topics included.
func commandNames(c *cobra.Command) []string {
	var names []string
	for _, sub := range c.Commands() {
		if sub.Hidden {
			continue
		}
		names = append(names, sub.Name())
		names = append(names, sub.Aliases...)
	}
	return names
}

// oneWord matches an argument that could be a command name.
var oneWord = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// mistypedCommand returns a usage error when the only argument of the root
// command is one word close to a subcommand's name: `m1 sesions` is a typo,
// not a task to send to a paid model. `m1 -- word` sends the word anyway.
func mistypedCommand(cmd *cobra.Command, args []string) error {
	if len(args) != 1 || cmd.ArgsLenAtDash() == 0 || !oneWord.MatchString(args[0]) {
		return nil
	}
	if s := closest(args[0], commandNames(cmd)); s != "" {
		return usagef("unknown command %q: did you mean %q? (see m1 --help; to send the word to the model as a task, write m1 -- %s)",
			args[0], s, args[0])
	}
	return nil
}

// flagError turns a flag parsing error of cmd into a usage error that
// suggests the flag meant and points at the right command's help.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	help := fmt.Sprintf("run '%s --help' for its flags", cmd.CommandPath())
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return usagef("%s\n%s", msg, help)
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if s := closest(name, names); s != "" {
		return usagef("unknown flag: --%s for %s: did you mean --%s?\n%s", name, cmd.CommandPath(), s, help)
	}
	// The flag may belong to another command: `m1 show --max-turns`.
	var owners []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c != cmd && c.Runnable() && c.LocalFlags().Lookup(name) != nil {
			path := c.CommandPath()
			if !c.HasParent() {
				path = `m1 "task"`
			}
			owners = append(owners, path)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd.Root())
	if len(owners) > 0 {
		return usagef("unknown flag: --%s for %s: it is a flag of %s\n%s", name, cmd.CommandPath(), strings.Join(owners, " and "), help)
	}
	return usagef("unknown flag: --%s for %s\n%s", name, cmd.CommandPath(), help)
}

// usageArgs wraps the argument check of cmd and of every command under it,
// so a wrong number of arguments exits 2 with the command's own usage line,
// and an unknown subcommand gets a suggestion.
func usageArgs(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		usageArgs(sub)
	}
	check := cmd.Args
	if check == nil {
		check = cobra.ArbitraryArgs
		if cmd.HasAvailableSubCommands() {
			check = cobra.NoArgs
		}
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		err := check(c, args)
		if err == nil {
			return nil
		}
		if c.HasAvailableSubCommands() && len(args) > 0 {
			hint := fmt.Sprintf("see %s --help", c.CommandPath())
			if s := closest(args[0], commandNames(c)); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			return usagef("unknown command %q for %s: %s\nusage: %s", args[0], c.CommandPath(), hint, c.UseLine())
		}
		return usagef("%v\nusage: %s", err, c.UseLine())
	}
}
