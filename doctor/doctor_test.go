package doctor

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/runner"
)

// envOf returns a getenv over vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestDoctorServers checks that roles sharing a server and key share one
// check, and that a role with its own key gets its own.
func TestDoctorServers(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(`
client:
  config: {model: small, base_url: http://127.0.0.1:9/v1, api_key: k1}
web_surfer_client:
  config: {model: big, base_url: http://127.0.0.1:9/v1, api_key: k2}
file_surfer_client:
  config: {model: big, base_url: http://127.0.0.1:9/v1, api_key: k1}
`), "m1.yaml", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := modelServers(cfg, runner.AllAgents())
	if len(got) != 2 {
		t.Fatalf("%d servers, want 2", len(got))
	}
	if r, m := strings.Join(got[0].roles, ","), strings.Join(got[0].models, ","); r != "orchestrator,coder,file_surfer" || m != "small,big" {
		t.Errorf("first server: roles %s, models %s", r, m)
	}
	if r := strings.Join(got[1].roles, ","); r != "web_surfer" {
		t.Errorf("second server: roles %s", r)
	}
	// Without the web agent its server is not asked.
	if got := modelServers(cfg, []string{runner.AgentCoder}); len(got) != 1 || len(got[0].roles) != 2 {
		t.Errorf("coder alone: %d servers", len(got))
	}
}

// TestCapabilityCheck judges each role's model by what its agent needs.
func TestCapabilityCheck(t *testing.T) {
	t.Parallel()
	full := model.Info{Vision: true, FunctionCalling: true, JSONOutput: true, StructuredOutput: true, ContextWindow: 128000}
	with := func(f func(*model.Info)) model.Info {
		i := full
		f(&i)
		return i
	}
	noTools := with(func(i *model.Info) { i.FunctionCalling = false })
	noVision := with(func(i *model.Info) { i.Vision = false })
	noJSON := with(func(i *model.Info) { i.JSONOutput, i.StructuredOutput = false, false })
	tiny := with(func(i *model.Info) { i.ContextWindow = 8192 })
	tests := []struct {
		role   string
		info   model.Info
		status Status
		hint   string
	}{
		{config.RoleOrchestrator, full, StatusOK, ""},
		{config.RoleWebSurfer, noTools, StatusFail, "WebSurfer acts only through function calls"},
		{config.RoleFileSurfer, noTools, StatusFail, "FileSurfer acts only through function calls"},
		{config.RoleCoder, noTools, StatusOK, ""},
		{config.RoleOrchestrator, noTools, StatusOK, ""},
		{config.RoleWebSurfer, noVision, StatusWarn, "read pages as text"},
		{config.RoleFileSurfer, noVision, StatusOK, ""},
		{config.RoleOrchestrator, noJSON, StatusWarn, "plain text"},
		{config.RoleCoder, noJSON, StatusOK, ""},
		{config.RoleCoder, tiny, StatusWarn, "8k tokens"},
	}
	for _, tc := range tests {
		c := capabilityCheck(tc.role, "m", tc.info)
		if c.Status != tc.status || !strings.Contains(c.Hint, tc.hint) || (tc.hint == "") != (c.Hint == "") {
			t.Errorf("%s %+v: got %s %q, want %s with a hint containing %q", tc.role, tc.info, c.Status, c.Hint, tc.status, tc.hint)
		}
	}
	if got := describeInfo(noVision); got != "function calling, json output, structured output, 128k context; no vision" {
		t.Errorf("describeInfo = %q", got)
	}
	if got := tokens(1047576); got != "1M" {
		t.Errorf("tokens(1047576) = %q", got)
	}
}

func TestKeyHint(t *testing.T) {
	t.Parallel()
	fromEnv := &config.Config{}
	fromFile := &config.Config{Path: "m1.yaml"}
	tests := []struct {
		cfg  *config.Config
		ep   model.Endpoint
		want string
	}{
		{fromEnv, model.Endpoint{APIKey: "sk-x"}, "check OPENAI_API_KEY"},
		{fromEnv, model.Endpoint{APIKey: config.NoKey}, "no key was sent: set OPENAI_API_KEY"},
		{fromFile, model.Endpoint{APIKey: "sk-x"}, "check api_key in m1.yaml (or OPENAI_API_KEY)"},
		{fromFile, model.Endpoint{APIKey: config.NoKey}, "no key was sent: set api_key in m1.yaml"},
		{fromFile, model.Endpoint{Provider: model.ProviderAzure, APIKey: "x"}, "AZURE_OPENAI_API_KEY"},
	}
	for _, tc := range tests {
		if got := keyHint(tc.cfg, tc.ep); !strings.Contains(got, tc.want) {
			t.Errorf("keyHint(%q, %v) = %q, want %q", tc.cfg.Path, tc.ep, got, tc.want)
		}
	}
}

// TestDoctorReportJSON pins the --json shape other tools read.
func TestDoctorReportJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Report{Ready: false, Checks: []Check{{Name: "docker", Status: StatusFail, Message: "m", Hint: "h"}, {Name: "x", Status: StatusOK, Message: "y"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ready":false,"checks":[{"name":"docker","status":"fail","message":"m","hint":"h"},{"name":"x","status":"ok","message":"y"}]}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
}

// TestReportFailed names each failed check once, in report order, so
// "not ready: ... failed" lists a repeated name (two model endpoints) once.
func TestReportFailed(t *testing.T) {
	t.Parallel()
	rep := Report{Checks: []Check{
		{Name: "model endpoint", Status: StatusFail},
		{Name: "docker", Status: StatusOK},
		{Name: "chrome", Status: StatusFail},
		{Name: "model endpoint", Status: StatusFail},
		{Name: "work dir", Status: StatusWarn},
	}}
	if got := strings.Join(rep.Failed(), ", "); got != "model endpoint, chrome" {
		t.Errorf("Failed() = %q", got)
	}
}
