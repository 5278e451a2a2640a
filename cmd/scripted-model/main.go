// Command scripted-model serves a scripted OpenAI-compatible model from a
// scenario file, for demos and end-to-end tests that must not call a real
// model. It prints OPENAI_BASE_URL=... as its first line of output and
// serves until interrupted.
//
//	scripted-model --scenario testdata/scenarios/demo.yaml [--addr 127.0.0.1:0]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
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
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if *scenario == "" {
		return fmt.Errorf("--scenario is required")
	}
	sc, err := scripted.LoadScenario(*scenario)
	if err != nil {
		return err
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
