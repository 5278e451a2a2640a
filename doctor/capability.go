package doctor

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
)

// capabilityChecks report, role by role, what each model of the team can do
// and whether that is enough for its agent. The context window is asked of
// the server (no tokens); the rest is assumed unless probe is set, when
// each capability gets one tiny real request.
func capabilityChecks(ctx context.Context, cfg *config.Config, agents []string, probe bool) []Check {
	if cfg == nil {
		return nil
	}
	roles := teamRoles(agents)
	out := make([][]Check, len(roles))
	var wg sync.WaitGroup
	for i, role := range roles {
		wg.Go(func() {
			ep, err := cfg.Endpoint(role)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			info := ep.Info
			var results []model.ProbeResult
			if c, err := model.New(ep, append(cfg.ModelOptions(role), model.WithMaxRetries(0))...); err == nil {
				info = c.Info()
				if probe {
					results = model.Probe(ctx, c, probeNeeds(role)...)
				}
			}
			c := capabilityCheck(role, ep.Model, info)
			switch {
			case probe:
				c.Hint = cmp.Or(c.Hint, "probed below")
			case c.Hint == "":
				c.Hint = assumed(ep) + ", not checked: m1 doctor --probe checks them with a few tokens"
			}
			out[i] = append([]Check{c}, probeChecks(role, results)...)
		})
	}
	wg.Wait()
	return slices.Concat(out...)
}

// probeNeeds are the capabilities a role's agent uses: the Orchestrator
// asks for the ledger in JSON with its own turn first, the Coder sends
// several user turns in a row, the surfers call tools; images wherever the
// model has vision.
func probeNeeds(role string) []string {
	switch role {
	case config.RoleOrchestrator:
		return []string{model.ProbeRoles, model.ProbeJSONSchema, model.ProbeVision}
	case config.RoleCoder:
		// The Coder streams its reply when the console shows it as it
		// comes.
		return []string{model.ProbeRoles, model.ProbeStream, model.ProbeVision}
	}
	return []string{model.ProbeTools, model.ProbeVision}
}

// assumed says where a role's capabilities come from.
func assumed(ep model.Endpoint) string {
	switch n := len(ep.InfoStated); {
	case n == 0:
		return "assumed from the model name"
	case n >= 5:
		return "stated in the config"
	}
	return strings.Join(ep.InfoStated, ", ") + " from the config, the rest assumed from the model name"
}

// probeChecks turns one role's probe results into a line each: what the
// server took, and for what it refused its own words and the fallback a
// run would take.
func probeChecks(role string, results []model.ProbeResult) []Check {
	var out []Check
	agent := map[string]string{config.RoleWebSurfer: "WebSurfer", config.RoleFileSurfer: "FileSurfer"}[role]
	for _, r := range results {
		c := Check{Name: roleName(role) + " probe", Status: StatusOK}
		switch {
		case r.Skipped != "":
			c.Status, c.Message = StatusSkip, r.Capability+": skipped, "+r.Skipped
		case r.OK:
			c.Message = r.Capability + ": accepted"
			// A reply shaped unlike OpenAI's is read all the same; say
			// how, so a surprise in a run's transcript is explained.
			var notes []string
			for _, q := range r.Seen {
				notes = append(notes, model.SeenNote(q)+" ["+q+"]")
			}
			c.Hint = strings.Join(notes, "; ")
		case r.Err != nil:
			c.Status, c.Message = StatusFail, r.Capability+": "+model.Cause(r.Err)
			c.Hint = entraHint(r.Err)
		default:
			c.Status = StatusWarn
			c.Message = fmt.Sprintf("%s: refused (HTTP %d) %q", r.Capability, r.Status, r.Said)
			c.Hint = r.Fallback + " [" + r.Quirk + "]"
			if r.Fatal && (r.Capability == model.ProbeChat || r.Capability == model.ProbeTools && agent != "" || strings.HasPrefix(r.Fallback, "none")) {
				c.Status = StatusFail
			}
		}
		out = append(out, c)
	}
	return out
}

// capabilityCheck judges one role's model by what its agent needs: the
// WebSurfer and FileSurfer act only through tool calls; the rest is
// welcome but not required.
func capabilityCheck(role, name string, info model.Info) Check {
	c := Check{Name: roleName(role) + " model", Status: StatusOK, Message: name + ": " + describeInfo(info)}
	agent := map[string]string{config.RoleWebSurfer: "WebSurfer", config.RoleFileSurfer: "FileSurfer"}[role]
	switch {
	case agent != "" && !info.FunctionCalling:
		c.Status = StatusFail
		c.Hint = fmt.Sprintf("the %s acts only through function calls: use a model that makes them "+
			"(set model_info.function_calling: true if yours does), or leave it out of --agents", agent)
	case role == config.RoleWebSurfer && !info.Vision:
		c.Status = StatusWarn
		c.Hint = "the WebSurfer will read pages as text, without screenshots; set model_info.vision: true if the model sees images"
	case role == config.RoleOrchestrator && !info.JSONOutput && !info.StructuredOutput:
		c.Status = StatusWarn
		c.Hint = "the progress ledger will be asked for as plain text, which models get wrong more often; set model_info.json_output: true if the server supports it"
	case info.ContextWindow > 0 && info.ContextWindow < minContextWindow:
		c.Status = StatusWarn
		c.Hint = fmt.Sprintf("a context of %s tokens (%s) leaves little room for m1's prompts; use a larger one", tokens(info.ContextWindow), info.ContextSource)
		if strings.Contains(info.ContextSource, "Ollama") {
			c.Hint += ": set OLLAMA_CONTEXT_LENGTH where Ollama runs (Ollama cuts longer prompts silently)"
		}
	}
	return c
}

// describeInfo lists what a model can do, then what it cannot.
func describeInfo(info model.Info) string {
	var can, cannot []string
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"vision", info.Vision}, {"function calling", info.FunctionCalling},
		{"json output", info.JSONOutput}, {"structured output", info.StructuredOutput},
	} {
		if f.on {
			can = append(can, f.name)
		} else {
			cannot = append(cannot, "no "+f.name)
		}
	}
	window := info.ContextWindow
	if window <= 0 {
		window = model.DefaultContextWindow
	}
	ctxText := tokens(window) + " context"
	if src := info.ContextSource; src != "" && !strings.HasPrefix(src, "m1's default") && !strings.HasPrefix(src, "model_info") {
		ctxText += " (" + src + ")"
	}
	s := strings.Join(append(can, ctxText), ", ")
	if len(cannot) > 0 {
		s += "; " + strings.Join(cannot, ", ")
	}
	return s
}

// tokens writes a token count the way model cards do: 128k, 1M.
func tokens(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.2gM", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
