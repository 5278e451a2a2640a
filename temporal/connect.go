package temporal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Connection says how to reach a Temporal service. Its fields are named
// as the Temporal CLI names its options, and FromEnv reads the same
// environment variables the CLI does.
type Connection struct {
	// Address is the service's gRPC endpoint, HOST:PORT.
	Address string
	// Namespace defaults to "default".
	Namespace string
	// TLS turns TLS on with the system's roots; any other TLS option or an
	// API key implies it.
	TLS bool
	// TLSCertPath and TLSKeyPath are a client certificate and its key
	// (mTLS); TLSCAPath is the server's CA; TLSServerName overrides the
	// name checked; TLSDisableHostVerification skips the check.
	TLSCertPath, TLSKeyPath, TLSCAPath, TLSServerName string
	TLSDisableHostVerification                        bool
	// APIKey is a Temporal Cloud API key (from TEMPORAL_API_KEY only, so it
	// never shows in a process list).
	APIKey string
}

// AddressEnv names m1's own variable for the address; TEMPORAL_ADDRESS,
// the Temporal CLI's, is read after it.
const AddressEnv = "M1_TEMPORAL_ADDRESS"

// FromEnv fills the fields left empty from the environment:
// M1_TEMPORAL_ADDRESS, then TEMPORAL_ADDRESS; TEMPORAL_NAMESPACE,
// TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
// TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME,
// TEMPORAL_TLS_DISABLE_HOST_VERIFICATION and TEMPORAL_API_KEY.
func (c *Connection) FromEnv(getenv func(string) string) {
	fill := func(v *string, keys ...string) {
		for _, k := range keys {
			if *v == "" {
				*v = strings.TrimSpace(getenv(k))
			}
		}
	}
	flag := func(v *bool, key string) {
		if b, err := strconv.ParseBool(getenv(key)); err == nil && b {
			*v = true
		}
	}
	fill(&c.Address, AddressEnv, "TEMPORAL_ADDRESS")
	fill(&c.Namespace, "TEMPORAL_NAMESPACE")
	fill(&c.TLSCertPath, "TEMPORAL_TLS_CLIENT_CERT_PATH")
	fill(&c.TLSKeyPath, "TEMPORAL_TLS_CLIENT_KEY_PATH")
	fill(&c.TLSCAPath, "TEMPORAL_TLS_SERVER_CA_CERT_PATH")
	fill(&c.TLSServerName, "TEMPORAL_TLS_SERVER_NAME")
	fill(&c.APIKey, "TEMPORAL_API_KEY")
	flag(&c.TLS, "TEMPORAL_TLS")
	flag(&c.TLSDisableHostVerification, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION")
}

// ClientOptions returns the SDK's options for c. Identity names this
// process in Temporal's history; logs of level warn and above go to log.
func (c Connection) ClientOptions(identity string, log io.Writer) (client.Options, error) {
	if c.Address == "" {
		return client.Options{}, errors.New("no Temporal address: pass --temporal HOST:PORT or set " + AddressEnv)
	}
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace, Identity: identity, Logger: Logger(log, slog.LevelWarn)}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	useTLS := c.TLS || c.TLSCertPath != "" || c.TLSKeyPath != "" || c.TLSCAPath != "" || c.TLSServerName != "" ||
		c.TLSDisableHostVerification || c.APIKey != ""
	if !useTLS {
		return opts, nil
	}
	cfg := &tls.Config{ServerName: c.TLSServerName, InsecureSkipVerify: c.TLSDisableHostVerification, MinVersion: tls.VersionTLS12}
	if (c.TLSCertPath == "") != (c.TLSKeyPath == "") {
		return opts, errors.New("--tls-cert-path and --tls-key-path go together: give both or neither")
	}
	if c.TLSCertPath != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertPath, c.TLSKeyPath)
		if err != nil {
			return opts, fmt.Errorf("load the TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.TLSCAPath != "" {
		pem, err := os.ReadFile(c.TLSCAPath)
		if err != nil {
			return opts, fmt.Errorf("read the TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("--tls-ca-path %s holds no PEM certificate", c.TLSCAPath)
		}
		cfg.RootCAs = pool
	}
	opts.ConnectionOptions.TLS = cfg
	return opts, nil
}

// Dial connects to the service, checking that it answers.
func (c Connection) Dial(ctx context.Context, identity string, log io.Writer) (client.Client, error) {
	opts, err := c.ClientOptions(identity, log)
	if err != nil {
		return nil, err
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; is the service running there (for a trial: temporal server start-dev)?",
			c.Address, opts.Namespace, err)
	}
	return cl, nil
}

// Logger adapts a writer to the SDK's logger: text lines of level and up.
// A nil writer drops everything.
func Logger(w io.Writer, level slog.Level) sdklog.Logger {
	if w == nil {
		w = io.Discard
	}
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}
