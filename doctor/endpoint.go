package doctor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/runner"
)

// teamRoles are the roles whose models a team of agents uses: always the
// Orchestrator's, then each agent's that talks to a model.
func teamRoles(agents []string) []string {
	roles := []string{config.RoleOrchestrator}
	for _, a := range []struct{ agent, role string }{
		{runner.AgentCoder, config.RoleCoder}, {runner.AgentWeb, config.RoleWebSurfer}, {runner.AgentFile, config.RoleFileSurfer},
	} {
		if slices.Contains(agents, a.agent) {
			roles = append(roles, a.role)
		}
	}
	return roles
}

// roleName is a role as people write it: "web surfer".
func roleName(role string) string { return strings.ReplaceAll(role, "_", " ") }

// modelServer is one model server the team talks to, with one key: roles that
// share both share a check.
type modelServer struct {
	ep     model.Endpoint // the first role's
	roles  []string
	models []string
}

// modelServers groups the team's endpoints by server and key, in role order.
func modelServers(cfg *config.Config, agents []string) []*modelServer {
	var out []*modelServer
	for _, role := range teamRoles(agents) {
		ep, err := cfg.Endpoint(role)
		if err != nil {
			continue // config.Load checked every role; cannot happen
		}
		i := slices.IndexFunc(out, func(s *modelServer) bool {
			return s.ep.Provider == ep.Provider && s.ep.BaseURL == ep.BaseURL &&
				s.ep.APIKey == ep.APIKey && s.ep.APIVersion == ep.APIVersion
		})
		if i < 0 {
			out = append(out, &modelServer{ep: ep})
			i = len(out) - 1
		}
		s := out[i]
		s.roles = append(s.roles, role)
		if !slices.Contains(s.models, ep.Model) {
			s.models = append(s.models, ep.Model)
		}
	}
	return out
}

// endpointChecks lists the models of each server the team uses, all at
// once.
func endpointChecks(ctx context.Context, cfg *config.Config, agents []string) []Check {
	if cfg == nil {
		return []Check{{Name: "model endpoint", Status: StatusSkip, Message: "skipped: no usable config"}}
	}
	srvs := modelServers(cfg, agents)
	out := make([]Check, len(srvs))
	var wg sync.WaitGroup
	for i, s := range srvs {
		wg.Go(func() { out[i] = endpointCheck(ctx, cfg, s, len(srvs) > 1) })
	}
	wg.Wait()
	return out
}

// endpointCheck asks one server for its models: it answers, takes the key
// and, when it lists them, serves the configured models.
func endpointCheck(ctx context.Context, cfg *config.Config, s *modelServer, nameRoles bool) Check {
	where := redactURL(s.ep.BaseURL)
	if nameRoles {
		names := make([]string, len(s.roles))
		for i, r := range s.roles {
			names[i] = roleName(r)
		}
		where += " (" + strings.Join(names, ", ") + ")"
	}
	c := Check{Name: "model endpoint", Status: StatusOK}
	ctx, cancel := context.WithTimeout(ctx, modelTimeout)
	defer cancel()
	// The role's options carry its credentials: an Entra ID token source
	// for an Azure resource whose key authentication is off.
	ids, err := model.ListModels(ctx, s.ep, cfg.ModelOptions(s.roles[0])...)
	if err != nil {
		c.Status = StatusFail
		if isStatus(err, 404) {
			// Some proxies serve chat but not /models; a wrong base URL
			// gives the same answer, which the hint is about.
			c.Status = StatusWarn
		}
		c.Message = describeModelError(where, err)
		c.Hint = modelErrorHint(cfg, s.ep, err)
		return c
	}
	c.Message = fmt.Sprintf("%s answers, %s", where, plural(len(ids), "model"))
	if s.ep.Provider == model.ProviderAzure {
		return c // Azure lists models, not the deployments m1 calls
	}
	var missing []string
	for _, m := range s.models {
		if !slices.Contains(ids, m) && !slices.Contains(ids, m+":latest") {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		c.Status = StatusWarn
		c.Message += ", but not " + strings.Join(missing, ", ")
		c.Hint = "check the model name (--model, M1_MODEL or model in the config); some servers serve models they do not list, so ignore this if runs work"
	}
	return c
}

// describeModelError says in a few words why the server at where could not
// list its models. model.Error's text never holds the key.
func describeModelError(where string, err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, model.ErrAuth):
		return fmt.Sprintf("key rejected by %s (HTTP %d)", where, statusOf(err))
	case errors.Is(err, syscall.ECONNREFUSED):
		return "endpoint unreachable at " + where + ": connection refused"
	case errors.As(err, &dnsErr):
		return "endpoint unreachable at " + where + ": host " + dnsErr.Name + " not found"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s did not answer within %s", where, modelTimeout)
	case isStatus(err, 404):
		return where + " has no /models (HTTP 404)"
	}
	return err.Error()
}

// modelErrorHint says what to do about a server that could not list its
// models, naming the setting to change but never the key.
func modelErrorHint(cfg *config.Config, ep model.Endpoint, err error) string {
	base := "OPENAI_BASE_URL"
	switch {
	case ep.Provider == model.ProviderAzure:
		base = "azure_endpoint in the config (or AZURE_OPENAI_ENDPOINT)"
	case cfg.Path != "":
		base = "base_url in " + cfg.Path + " (or OPENAI_BASE_URL)"
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, model.ErrAuth):
		return cmp.Or(entraHint(err), keyHint(cfg, ep))
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &dnsErr), errors.Is(err, context.DeadlineExceeded):
		return "start the model server, or fix " + base
	case isStatus(err, 404):
		return "check " + base + ": OpenAI-compatible servers usually end in /v1"
	}
	return "check " + base
}

// entraHint is the hint for an Azure resource whose key authentication is
// off, which takes only Entra ID tokens (real-model.md row 17); "" for any
// other error.
func entraHint(err error) string {
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "key based authentication is disabled") {
		return ""
	}
	return "this resource takes only Entra ID tokens: set AZURE_OPENAI_AD_TOKEN (or azure_ad_token), or azure_ad_token_provider in the config to get one from `az account get-access-token`"
}

// keyHint names where the key for ep comes from.
func keyHint(cfg *config.Config, ep model.Endpoint) string {
	switch {
	case ep.Provider == model.ProviderAzure:
		return "check AZURE_OPENAI_API_KEY or api_key in the config"
	case ep.APIKey == config.NoKey && cfg.Path == "":
		return "no key was sent: set OPENAI_API_KEY"
	case ep.APIKey == config.NoKey:
		return "no key was sent: set api_key in " + cfg.Path + " (e.g. api_key: ${MY_KEY}); OPENAI_API_KEY goes only to OPENAI_BASE_URL or OpenAI"
	case cfg.Path == "":
		return "check OPENAI_API_KEY"
	}
	return "check api_key in " + cfg.Path + " (or OPENAI_API_KEY)"
}

func statusOf(err error) int {
	var me *model.Error
	if errors.As(err, &me) {
		return me.StatusCode
	}
	return 0
}

func isStatus(err error, code int) bool { return statusOf(err) == code }

// redactURL hides a password in a URL.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}
