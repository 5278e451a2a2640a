package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/m1-project/m1/batch"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/session"
	"github.com/m1-project/m1/temporal"
)

// addTemporalFlags adds the flags that reach a Temporal service, named as
// the Temporal CLI names them (--temporal is its --address).
func addTemporalFlags(cmd *cobra.Command, c *temporal.Connection) {
	fl := cmd.Flags()
	fl.StringVar(&c.Address, "temporal", "", "Temporal service `HOST:PORT` (default $"+temporal.AddressEnv+", then $TEMPORAL_ADDRESS)")
	fl.StringVar(&c.Namespace, "namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE, else default)")
	fl.BoolVar(&c.TLS, "tls", false, "connect with TLS (implied by the other --tls options and $TEMPORAL_API_KEY)")
	fl.StringVar(&c.TLSCertPath, "tls-cert-path", "", "client certificate for mTLS (default $TEMPORAL_TLS_CLIENT_CERT_PATH)")
	fl.StringVar(&c.TLSKeyPath, "tls-key-path", "", "client certificate's private key (default $TEMPORAL_TLS_CLIENT_KEY_PATH)")
	fl.StringVar(&c.TLSCAPath, "tls-ca-path", "", "CA certificate of the server (default $TEMPORAL_TLS_SERVER_CA_CERT_PATH)")
	fl.StringVar(&c.TLSServerName, "tls-server-name", "", "server name to check in its certificate (default $TEMPORAL_TLS_SERVER_NAME)")
	fl.BoolVar(&c.TLSDisableHostVerification, "tls-disable-host-verification", false, "do not check the server's host name")
}

// workerFlags are the flags of m1 worker.
type workerFlags struct {
	conn               temporal.Connection
	queue              string
	parallel           int
	config, cache      string
	browserPath, cdp   string
	allowPaths         []string
	allowLocalExecutor bool
	workRoot           string
}

func newWorkerCmd(f *factory) *cobra.Command {
	o := &workerFlags{}
	cmd := &cobra.Command{
		Use:   "worker --temporal HOST:PORT",
		Short: "Run tasks that m1 batch --temporal sends, on this machine, until stopped",
		Long: `Poll a Temporal task queue and run the tasks m1 batch --temporal submits, each in
its own work dir, session, browser and container, at most --parallel at once.
Run one on every machine that has Chrome and Docker.

The model's key and config come from this machine (--config, or
OPENAI_API_KEY and OPENAI_BASE_URL); none of it travels through Temporal.
Each finished turn is checkpointed to Temporal, so when a worker dies its
tasks go on on another worker from their last turn. Ctrl-C stops the tasks
at their next step; other workers take them over. See docs/batch.md.`,
		Example: `  m1 worker --temporal temporal.internal:7233 --parallel 4
  M1_TEMPORAL_ADDRESS=localhost:7233 m1 worker --config team.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorker(cmd.Context(), f, o)
		},
	}
	addTemporalFlags(cmd, &o.conn)
	fl := cmd.Flags()
	fl.StringVar(&o.queue, "queue", temporal.DefaultQueue, "Temporal task queue to take tasks from")
	fl.IntVar(&o.parallel, "parallel", 0, "tasks to run at once (default: from this machine's cores and memory)")
	fl.StringVar(&o.config, "config", "", "this machine's model config file (YAML); default: OPENAI_API_KEY, OPENAI_BASE_URL, M1_MODEL")
	fl.StringVar(&o.cache, "cache", "", "cache model replies in `DIR` on this machine")
	fl.StringVar(&o.browserPath, "browser-path", "", "Chrome or Chromium binary (default: found in PATH)")
	fl.StringVar(&o.cdp, "cdp", "", "attach to a running Chrome at this DevTools `URL` instead of launching one")
	fl.StringSliceVar(&o.allowPaths, "allow-path", nil, "a further folder the FileSurfer may read (repeatable)")
	fl.BoolVar(&o.allowLocalExecutor, "allow-local-executor", false, "run tasks that ask for --executor local: their code runs on this machine, unsandboxed")
	fl.StringVar(&o.workRoot, "work-root", "", "folder of the tasks' work dirs (default: m1/work under the state dir)")
	return cmd
}

func runWorker(ctx context.Context, f *factory, o *workerFlags) error {
	if o.parallel < 0 {
		return usagef("--parallel must be at least 1")
	}
	o.conn.FromEnv(f.getenv)
	if o.conn.Address == "" {
		return usagef("no Temporal service: pass --temporal HOST:PORT or set %s", temporal.AddressEnv)
	}
	root, err := session.Root(f.getenv)
	if err != nil {
		return err
	}
	workRoot := o.workRoot
	if workRoot == "" {
		workRoot = filepath.Join(filepath.Dir(root), "work")
	}
	if workRoot, err = filepath.Abs(workRoot); err != nil {
		return usageError{err}
	}
	if err := os.MkdirAll(workRoot, 0o755); err != nil {
		return fmt.Errorf("create the work root: %w", err)
	}
	parallel, from := o.parallel, "--parallel"
	if parallel == 0 {
		parallel, from = batch.DefaultParallel()
	}
	// The worker's own settings are checked now, not at its first task.
	if _, err := config.Load(o.config, f.getenv); err != nil {
		return err
	}
	host, _ := os.Hostname()
	identity := fmt.Sprintf("m1-worker-%d@%s", os.Getpid(), host)
	c, err := o.conn.Dial(ctx, identity, f.io.Err)
	if err != nil {
		return err
	}
	defer c.Close()

	var mu sync.Mutex
	acts := &temporal.Activities{
		Heartbeat: temporal.ClientHeartbeat(c),
		Machine: temporal.Machine{Config: o.config, Cache: o.cache, BrowserPath: o.browserPath, CDP: o.cdp,
			AllowPaths: o.allowPaths, AllowLocalExecutor: o.allowLocalExecutor},
		Getenv:   f.getenv,
		WorkRoot: workRoot,
		Identity: identity,
		Log:      f.io.Err,
		Events: func(e temporal.TaskEvent) {
			mu.Lock()
			defer mu.Unlock()
			printWorkerEvent(f, e)
		},
	}
	ns := o.conn.Namespace
	if ns == "" {
		ns = "default"
	}
	fmt.Fprintf(f.io.Err, "m1 worker %s: taking tasks from queue %s on %s (namespace %s), %d at once (%s); Ctrl-C stops\n",
		identity, o.queue, o.conn.Address, ns, parallel, from)
	return temporal.RunWorker(ctx, c, acts, temporal.WorkerOptions{Queue: o.queue, Parallel: parallel})
}

// printWorkerEvent writes one line a task start or end on stdout.
func printWorkerEvent(f *factory, e temporal.TaskEvent) {
	now := time.Now().Format("15:04:05")
	switch e.Type {
	case "start":
		from := "from the start"
		if e.FromTurn > 0 {
			from = fmt.Sprintf("from turn %d", e.FromTurn)
		}
		fmt.Fprintf(f.io.Out, "%s start %s task %s attempt %d %s\n", now, e.WorkflowID, printable(e.TaskID, 60), e.Attempt, from)
	case "end":
		line := fmt.Sprintf("%s end   %s task %s attempt %d %s session %s", now, e.WorkflowID, printable(e.TaskID, 60), e.Attempt, e.Status, e.SessionID)
		if e.Err != "" {
			line += ": " + printable(e.Err, 200)
		}
		fmt.Fprintln(f.io.Out, line)
	}
}
