package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// TokenSource gives a bearer token for each request: Azure's Entra ID
// (formerly Azure AD) tokens for tenants that turned key authentication
// off.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a token given in the config or the environment
// (AZURE_OPENAI_AD_TOKEN).
type StaticToken string

// Token implements TokenSource.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// AzureScope is the resource Azure OpenAI tokens are for.
const AzureScope = "https://cognitiveservices.azure.com"

// AzCLIToken gets tokens from the Azure CLI (`az account get-access-token`),
// as AutoGen's azure_ad_token_provider with DefaultAzureCredential does on
// a machine where someone ran `az login`. A token is kept until five
// minutes before it expires.
type AzCLIToken struct {
	// Resource is the token's audience (default AzureScope).
	Resource string
	// Command is the az binary (default "az" in PATH).
	Command string

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Token implements TokenSource.
func (a *AzCLIToken) Token(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && time.Until(a.expires) > 5*time.Minute {
		return a.token, nil
	}
	res := a.Resource
	if res == "" {
		res = AzureScope
	}
	bin := a.Command
	if bin == "" {
		bin = "az"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "account", "get-access-token", "--resource", res, "--output", "json")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		msg := err.Error()
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("azure_ad_token_provider needs the Azure CLI (az) in PATH, logged in with az login; or set azure_ad_token or AZURE_OPENAI_AD_TOKEN")
		}
		return "", fmt.Errorf("az account get-access-token: %s (run az login, or set azure_ad_token or AZURE_OPENAI_AD_TOKEN)", truncate(msg, 300))
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
		ExpiresOn   string `json:"expiresOn"`
		Expires     int64  `json:"expires_on"`
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("az account get-access-token gave no token; run az login")
	}
	a.token = tok.AccessToken
	switch {
	case tok.Expires > 0:
		a.expires = time.Unix(tok.Expires, 0)
	default:
		a.expires = time.Now().Add(30 * time.Minute)
		if t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", tok.ExpiresOn, time.Local); err == nil {
			a.expires = t
		}
	}
	return a.token, nil
}
