package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/console"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/runner"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/surfers/web"
	"github.com/m1-project/m1/terminal"
)

// How long each part of m1 doctor may take. A model server or Docker
// daemon that needs longer than this is broken for a run too.
const (
	doctorModelTimeout   = 10 * time.Second
	doctorDockerTimeout  = 10 * time.Second
	doctorBrowserTimeout = 20 * time.Second
)

// minContextWindow is the context size below which m1's prompts (task
// ledger, thread, page text) leave too little room for a run.
const minContextWindow = 16000

// doctorRunFlags are the run's flags that decide what a run needs; doctor
// takes them with the run's names, defaults and help, so a run's command
// line can be checked as it is.
func doctorRunFlags() []string {
	return []string{"config", "allow-unknown-config-keys", "model", "agents", "work-dir", "executor", "image", "browser-path", "cdp"}
}

func newDoctorCmd(f *factory) *cobra.Command {
	opts := newRunFlags()
	var asJSON, probe bool
	cmd := &cobra.Command{
		Use:   "doctor [flags]",
		Short: "Check that m1 can run here: model server and key, model capabilities, Docker, Chrome, folders",
		Long: `Check, one line each, what a run with the same flags needs: the model server
answers and takes the key (GET /models, which costs no tokens), the models can
do what their agents need, Docker answers and has the image (nothing is
pulled), Chrome starts headless, and the work and state dirs are writable.
A failed check says how to fix it. Parts the team does not need (--agents,
--executor) are skipped.

Model capabilities are assumed from the model's name and the config unless
--probe is given: it sends one tiny real request per capability a run would
use (plain chat, the ledger's role order, each JSON mode, a tool call, an
image when vision is on; a few tokens each) and reports the server's own
words for what it refuses and which fallback a run would take.

Exit status 0 when everything the team needs is ready, 2 otherwise.`,
		Example: `  m1 doctor
  m1 doctor --agents coder,terminal --executor local
  m1 doctor --config config.yaml --json
  m1 doctor --probe`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDoctor(cmd.Context(), f, opts, asJSON, probe)
		},
	}
	run := &cobra.Command{}
	opts.addFlags(run)
	for _, name := range doctorRunFlags() {
		cmd.Flags().AddFlag(run.Flags().Lookup(name))
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as one JSON object")
	cmd.Flags().BoolVar(&probe, "probe", false, "check each model capability with one tiny real request (spends a few tokens)")
	return cmd
}

// Statuses of a check.
const (
	checkOK   = "ok"
	checkWarn = "warn" // works, but worth knowing
	checkFail = "fail" // a run with these flags would fail
	checkSkip = "skip" // not needed by this team
)

// check is one line of the doctor's report.
type check struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
	// Hint says how to fix a failure or what to make of a warning.
	Hint string `json:"hint,omitempty"`
}

// doctorReport is the --json output.
type doctorReport struct {
	Ready  bool    `json:"ready"`
	Checks []check `json:"checks"`
}

// runDoctor checks what a run with opts needs and prints one line a check.
// The slow parts (model servers, Docker, Chrome) run side by side; the lines
// come out in a fixed order.
func runDoctor(ctx context.Context, f *factory, opts *runFlags, asJSON, probe bool) error {
	if err := runner.ValidateExecutor(opts.Team.Executor); err != nil {
		return err
	}
	cfg, cfgErr := config.Load(opts.Config, f.getenv, opts.ConfigOptions()...)
	if cfg != nil {
		cfg.Model = opts.Model
	}
	if err := validateTeam(opts.Agents, cfg); err != nil {
		return err
	}
	parts := []func(context.Context) []check{
		func(context.Context) []check { return []check{configCheck(cfg, cfgErr, f.getenv)} },
		func(ctx context.Context) []check { return endpointChecks(ctx, cfg, opts.Agents) },
		func(ctx context.Context) []check { return capabilityChecks(ctx, cfg, opts.Agents, probe) },
		func(ctx context.Context) []check { return []check{dockerCheck(ctx, f, opts)} },
		func(ctx context.Context) []check { return []check{browserCheck(ctx, opts)} },
		func(ctx context.Context) []check { return mcpChecks(ctx, cfg, opts.Agents, f.getenv) },
		func(context.Context) []check { return []check{workDirCheck(opts.WorkDir)} },
		func(context.Context) []check { return []check{stateDirCheck(f.getenv)} },
	}
	results := make([][]check, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { results[i] = part(ctx) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	rep := doctorReport{Ready: true, Checks: slices.Concat(results...)}
	var failed []string
	for i, c := range rep.Checks {
		// Messages quote errors of other programs (Chrome's start-up
		// output), which may span lines; a check is one line.
		rep.Checks[i].Message = strings.Join(strings.Fields(c.Message), " ")
		if c.Status == checkFail {
			rep.Ready = false
			if !slices.Contains(failed, c.Name) {
				failed = append(failed, c.Name)
			}
		}
	}
	if asJSON {
		enc := json.NewEncoder(f.io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printChecks(f.io, rep.Checks)
	}
	if !rep.Ready {
		return usagef("not ready: %s failed (see the hints above)", strings.Join(failed, ", "))
	}
	if !asJSON {
		fmt.Fprintf(f.io.Out, "\nready: m1 can run with --agents %s\n", console.Clean(strings.Join(opts.Agents, ",")))
	}
	return nil
}

// configCheck says where the model configuration comes from.
func configCheck(cfg *config.Config, err error, getenv func(string) string) check {
	c := check{Name: "config", Status: checkOK}
	switch {
	case err != nil:
		// The line is named config already, and config errors say what to
		// set.
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "config: "), "config ")
		// The advice after the first "; " goes in the hint.
		if i := strings.Index(msg, "; m1 --sample-config"); i > 0 {
			msg, c.Hint = msg[:i], msg[i+2:]
		}
		c.Status, c.Message = checkFail, msg
	case cfg.Path != "":
		c.Message = cfg.Path
		switch cfg.Source {
		case "M1_CONFIG":
			c.Message += " (from M1_CONFIG)"
		case "--config":
		default:
			c.Message += " (found at " + cfg.Source + ")"
		}
		if len(cfg.Warnings) > 0 {
			c.Status = checkWarn
			c.Message += "; ignored: " + strings.Join(cfg.Warnings, "; ")
			c.Hint = "fix the keys, or remove allow_unknown_keys to make them errors"
		}
	default:
		var set []string
		for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "M1_MODEL"} {
			if getenv(k) != "" {
				set = append(set, k)
			}
		}
		c.Message = "from the environment"
		if len(set) > 0 {
			c.Message += " (" + strings.Join(set, ", ") + ")"
		}
	}
	return c
}

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
func endpointChecks(ctx context.Context, cfg *config.Config, agents []string) []check {
	if cfg == nil {
		return []check{{Name: "model endpoint", Status: checkSkip, Message: "skipped: no usable config"}}
	}
	srvs := modelServers(cfg, agents)
	out := make([]check, len(srvs))
	var wg sync.WaitGroup
	for i, s := range srvs {
		wg.Go(func() { out[i] = endpointCheck(ctx, cfg, s, len(srvs) > 1) })
	}
	wg.Wait()
	return out
}

// endpointCheck asks one server for its models: it answers, takes the key
// and, when it lists them, serves the configured models.
func endpointCheck(ctx context.Context, cfg *config.Config, s *modelServer, nameRoles bool) check {
	where := redactURL(s.ep.BaseURL)
	if nameRoles {
		names := make([]string, len(s.roles))
		for i, r := range s.roles {
			names[i] = roleName(r)
		}
		where += " (" + strings.Join(names, ", ") + ")"
	}
	c := check{Name: "model endpoint", Status: checkOK}
	ctx, cancel := context.WithTimeout(ctx, doctorModelTimeout)
	defer cancel()
	// The role's options carry its credentials: an Entra ID token source
	// for an Azure resource whose key authentication is off.
	ids, err := model.ListModels(ctx, s.ep, cfg.ModelOptions(s.roles[0])...)
	if err != nil {
		c.Status = checkFail
		if isStatus(err, 404) {
			// Some proxies serve chat but not /models; a wrong base URL
			// gives the same answer, which the hint is about.
			c.Status = checkWarn
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
		c.Status = checkWarn
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
		return fmt.Sprintf("%s did not answer within %s", where, doctorModelTimeout)
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

// capabilityChecks report, role by role, what each model of the team can do
// and whether that is enough for its agent. The context window is asked of
// the server (no tokens); the rest is assumed unless probe is set, when
// each capability gets one tiny real request.
func capabilityChecks(ctx context.Context, cfg *config.Config, agents []string, probe bool) []check {
	if cfg == nil {
		return nil
	}
	roles := teamRoles(agents)
	out := make([][]check, len(roles))
	var wg sync.WaitGroup
	for i, role := range roles {
		wg.Go(func() {
			ep, err := cfg.Endpoint(role)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(ctx, doctorProbeTimeout)
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
			out[i] = append([]check{c}, probeChecks(role, results)...)
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

// doctorProbeTimeout bounds the probes of one model.
const doctorProbeTimeout = 2 * time.Minute

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
func probeChecks(role string, results []model.ProbeResult) []check {
	var out []check
	agent := map[string]string{config.RoleWebSurfer: "WebSurfer", config.RoleFileSurfer: "FileSurfer"}[role]
	for _, r := range results {
		c := check{Name: roleName(role) + " probe", Status: checkOK}
		switch {
		case r.Skipped != "":
			c.Status, c.Message = checkSkip, r.Capability+": skipped, "+r.Skipped
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
			c.Status, c.Message = checkFail, r.Capability+": "+model.Cause(r.Err)
			c.Hint = entraHint(r.Err)
		default:
			c.Status = checkWarn
			c.Message = fmt.Sprintf("%s: refused (HTTP %d) %q", r.Capability, r.Status, r.Said)
			c.Hint = r.Fallback + " [" + r.Quirk + "]"
			if r.Fatal && (r.Capability == model.ProbeChat || r.Capability == model.ProbeTools && agent != "" || strings.HasPrefix(r.Fallback, "none")) {
				c.Status = checkFail
			}
		}
		out = append(out, c)
	}
	return out
}

// capabilityCheck judges one role's model by what its agent needs: the
// WebSurfer and FileSurfer act only through tool calls; the rest is
// welcome but not required.
func capabilityCheck(role, name string, info model.Info) check {
	c := check{Name: roleName(role) + " model", Status: checkOK, Message: name + ": " + describeInfo(info)}
	agent := map[string]string{config.RoleWebSurfer: "WebSurfer", config.RoleFileSurfer: "FileSurfer"}[role]
	switch {
	case agent != "" && !info.FunctionCalling:
		c.Status = checkFail
		c.Hint = fmt.Sprintf("the %s acts only through function calls: use a model that makes them "+
			"(set model_info.function_calling: true if yours does), or leave it out of --agents", agent)
	case role == config.RoleWebSurfer && !info.Vision:
		c.Status = checkWarn
		c.Hint = "the WebSurfer will read pages as text, without screenshots; set model_info.vision: true if the model sees images"
	case role == config.RoleOrchestrator && !info.JSONOutput && !info.StructuredOutput:
		c.Status = checkWarn
		c.Hint = "the progress ledger will be asked for as plain text, which models get wrong more often; set model_info.json_output: true if the server supports it"
	case info.ContextWindow > 0 && info.ContextWindow < minContextWindow:
		c.Status = checkWarn
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

// dockerCheck asks the daemon for the image code would run in, as the
// ComputerTerminal's executor does before a run, but pulls nothing.
func dockerCheck(ctx context.Context, f *factory, opts *runFlags) check {
	c := check{Name: "docker", Status: checkSkip}
	switch {
	case !slices.Contains(opts.Agents, runner.AgentTerminal):
		c.Message = "skipped: terminal is not in --agents"
		return c
	case opts.Team.Executor == runner.ExecutorLocal:
		c.Message = "skipped: --executor local runs code on this machine, unsandboxed"
		return c
	}
	image := opts.Team.Image
	if image == "" {
		image = f.getenv("M1_IMAGE")
	}
	d, err := terminal.NewDocker(terminal.WithImage(image))
	if err != nil {
		c.Status, c.Message = checkFail, err.Error()
		c.Hint = "check DOCKER_HOST, or use --executor local"
		return c
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(ctx, doctorDockerTimeout)
	defer cancel()
	host := d.DaemonHost()
	err = d.Check(ctx)
	switch {
	case err == nil:
		c.Status, c.Message = checkOK, fmt.Sprintf("daemon at %s, image %s present", host, d.Image())
	case errors.Is(err, context.DeadlineExceeded):
		c.Status, c.Message = checkFail, fmt.Sprintf("daemon at %s did not answer within %s", host, doctorDockerTimeout)
		c.Hint = "restart dockerd, or use --executor local"
	case errors.Is(err, terminal.ErrImageUnavailable) && d.Image() != terminal.SandboxImage:
		// A run pulls a missing image before it starts; only where no
		// registry answers is that a problem.
		c.Status = checkWarn
		c.Message = strings.TrimPrefix(err.Error(), terminal.ErrImageUnavailable.Error()+": ") + "; the first run pulls it"
		c.Hint = "where no registry is reachable: " + imageHint(d.Image())
	case errors.Is(err, terminal.ErrImageUnavailable):
		c.Status = checkFail
		c.Message = strings.TrimPrefix(err.Error(), terminal.ErrImageUnavailable.Error()+": ")
		c.Hint = imageHint(d.Image())
	case errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "permission denied"):
		c.Status, c.Message = checkFail, "no permission to use the daemon at "+host
		c.Hint = "add your user to the docker group (then log in again), or use --executor local"
	default:
		c.Status, c.Message = checkFail, "daemon unreachable at "+host
		c.Hint = "start dockerd (or fix DOCKER_HOST), or use --executor local"
	}
	return c
}

func imageHint(image string) string {
	if image == terminal.SandboxImage {
		return "run make sandbox-image in m1's source tree to build it without a registry, or use --executor local"
	}
	return fmt.Sprintf("docker pull %s, or build %s with make sandbox-image and pass --image %s (or set M1_IMAGE), or use --executor local",
		image, terminal.SandboxImage, terminal.SandboxImage)
}

// browserCheck starts the WebSurfer's browser headless and closes it.
func browserCheck(ctx context.Context, opts *runFlags) check {
	c := check{Name: "chrome", Status: checkSkip}
	if !slices.Contains(opts.Agents, runner.AgentWeb) {
		c.Message = "skipped: web is not in --agents"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, doctorBrowserTimeout)
	defer cancel()
	info, err := web.CheckBrowser(ctx, web.WithBrowserPath(opts.Team.BrowserPath), web.WithCDP(opts.Team.CDP))
	var le *web.LaunchError
	switch {
	case err == nil && opts.Team.CDP != "":
		c.Status, c.Message = checkOK, fmt.Sprintf("attached to %s (%s)", redactURL(info.Path), info.Product)
	case err == nil:
		c.Status, c.Message, c.Hint = checkOK, fmt.Sprintf("%s (%s) starts headless", info.Path, info.Product), web.SandboxNote()
	case errors.Is(err, web.ErrNoBrowser):
		c.Status, c.Message = checkFail, web.ErrNoBrowser.Error()
		c.Hint = "install chromium (apt-get install chromium), or pass --browser-path"
	case errors.Is(err, context.DeadlineExceeded):
		c.Status, c.Message = checkFail, fmt.Sprintf("%s did not start within %s", info.Path, doctorBrowserTimeout)
		c.Hint = "check that it is Chrome or Chromium and starts headless (--headless=new)"
	case errors.As(err, &le) && opts.Team.CDP != "":
		c.Status, c.Message = checkFail, fmt.Sprintf("cannot attach to %s: %v", redactURL(le.Path), le.Err)
		c.Hint = "start Chrome with --remote-debugging-port, or drop --cdp to launch one"
	case errors.As(err, &le) && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)):
		c.Status, c.Message = checkFail, fmt.Sprintf("%s: %v", le.Path, pathCause(le.Err))
		c.Hint = "pass --browser-path with a Chrome or Chromium binary, or install chromium (apt-get install chromium)"
	case errors.As(err, &le):
		// chromedp ends its message with a colon when Chrome printed nothing.
		c.Status, c.Message = checkFail, fmt.Sprintf("%s did not start: %s", le.Path, strings.TrimRight(le.Err.Error(), ": \n"))
		c.Hint = "check that --browser-path is Chrome or Chromium, or install chromium (apt-get install chromium)"
	default:
		c.Status, c.Message = checkFail, err.Error()
	}
	return c
}

// workDirCheck checks the folder the agents read and write.
func workDirCheck(dir string) check {
	c := check{Name: "work dir"}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			c.Status, c.Message = checkFail, "cannot find the current directory: "+err.Error()
			c.Hint = "cd to a folder that exists, or pass --work-dir"
			return c
		}
		dir = wd
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := writable(dir); err != nil {
		c.Status, c.Message = checkFail, err.Error()
		c.Hint = "pass --work-dir with a folder you can write, or run m1 from one"
		return c
	}
	c.Status, c.Message = checkOK, dir+" is writable"
	return c
}

// stateDirCheck checks the folder sessions are saved in. A folder that does
// not exist yet is not made: its nearest existing parent must be writable,
// so the first run can make it.
func stateDirCheck(getenv func(string) string) check {
	c := check{Name: "state dir"}
	root, err := session.Root(getenv)
	dir := root
	if err == nil {
		for {
			if _, statErr := os.Lstat(dir); !errors.Is(statErr, fs.ErrNotExist) || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
		err = writable(dir)
	}
	switch {
	case err != nil:
		c.Status, c.Message = checkFail, err.Error()
		c.Hint = "set XDG_STATE_HOME to a folder you can write"
	case dir != root:
		c.Status, c.Message = checkOK, fmt.Sprintf("%s can be created (%s is writable)", root, dir)
	default:
		c.Status, c.Message = checkOK, root+" is writable"
	}
	return c
}

// writable creates and removes a file in dir.
func writable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, pathCause(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".m1-doctor-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, pathCause(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot remove %s: %w", name, pathCause(err))
	}
	return nil
}

// pathCause drops the operation and path from a *fs.PathError, which the
// message names already.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// printChecks writes one line a check: a mark, the name in a column, the
// message and, after a dash, the hint. Colour only on a terminal without
// NO_COLOR.
func printChecks(s *console.Streams, checks []check) {
	r := lipgloss.NewRenderer(s.Out)
	if s.Color() {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	marks := map[string]lipgloss.Style{
		checkOK:   r.NewStyle().Bold(true).Foreground(lipgloss.Color("42")),
		checkWarn: r.NewStyle().Bold(true).Foreground(lipgloss.Color("214")),
		checkFail: r.NewStyle().Bold(true).Foreground(lipgloss.Color("196")),
		checkSkip: r.NewStyle().Faint(true),
	}
	symbols := map[string]string{checkOK: "✓", checkWarn: "!", checkFail: "✗", checkSkip: "-"}
	bold, dim := r.NewStyle().Bold(true), r.NewStyle().Faint(true)
	// A check quotes a config's model name, a server's error body or
	// another program's output: escaped before styling, so none of it
	// reaches the terminal raw and m1's own colours stay colours.
	clean := make([]check, len(checks))
	for i, c := range checks {
		c.Name, c.Message, c.Hint = console.Clean(c.Name), console.Clean(c.Message), console.Clean(c.Hint)
		clean[i] = c
	}
	checks = clean
	width := 0
	for _, c := range checks {
		width = max(width, len(c.Name))
	}
	for _, c := range checks {
		name := fmt.Sprintf("%-*s", width, c.Name)
		line := marks[c.Status].Render(symbols[c.Status]) + " " + bold.Render(name) + "  "
		if c.Status == checkSkip {
			line = marks[c.Status].Render(symbols[c.Status] + " " + name + "  " + c.Message)
		} else {
			line += c.Message
		}
		if c.Hint != "" {
			line += dim.Render(" — " + c.Hint)
		}
		fmt.Fprintln(s.Out, line)
	}
}
