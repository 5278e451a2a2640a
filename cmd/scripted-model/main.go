// Command scripted-model serves a scripted OpenAI-compatible model from a
// scenario file, for demos and end-to-end tests that must not call a real
// model. It prints OPENAI_BASE_URL=... as its first line of output and
// serves until interrupted. --quirk makes it behave as a real server does
// where that differs from OpenAI (--list-quirks names them all).
//
//	scripted-model --scenario testdata/scenarios/demo.yaml [--addr 127.0.0.1:0] [--quirk lmstudio,r1-think]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/m1-project/m1/model/scripted"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scripted-model:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("scripted-model", flag.ContinueOnError)
	scenario := fs.String("scenario", "", "scenario YAML `file` to serve (required)")
	addr := fs.String("addr", "127.0.0.1:0", "`host:port` to listen on; port 0 picks a free one")
	var quirks []string
	fs.Func("quirk", "behave as a real server does: quirk `mode`s, comma-separated or repeated (see --list-quirks)", func(v string) error {
		for _, q := range strings.Split(v, ",") {
			if q = strings.TrimSpace(q); q != "" {
				if scripted.QuirkDescription(q) == "" {
					return fmt.Errorf("unknown quirk mode %q (see --list-quirks)", q)
				}
				quirks = append(quirks, q)
			}
		}
		return nil
	})
	window := fs.Int("context", 0, "context window in `tokens` of the quirk modes that have one (default 4096)")
	list := fs.Bool("list-quirks", false, "list the quirk modes and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if *list {
		for _, q := range scripted.QuirkModes() {
			fmt.Printf("%-28s %s\n", q, scripted.QuirkDescription(q))
		}
		return nil
	}
	if *scenario == "" {
		return fmt.Errorf("--scenario is required")
	}
	sc, err := scripted.LoadScenario(*scenario)
	if err != nil {
		return err
	}
	sc.Quirks = append(sc.Quirks, quirks...)
	if *window > 0 {
		sc.Context = *window
	}
	srv, err := scripted.Listen(*addr, sc)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("OPENAI_BASE_URL=%s\n", srv.URL())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
