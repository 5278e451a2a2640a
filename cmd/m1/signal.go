package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interruptContext is cancelled by the first Ctrl-C (or SIGTERM), so the run
// stops its current step, checkpoints and cleans up; a second Ctrl-C exits
// at once.
func interruptContext(parent context.Context, errw io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
		case <-done:
			return
		}
		fmt.Fprintln(errw, "\nm1: interrupted: stopping and saving the session (press Ctrl-C again to quit at once)")
		cancel()
		select {
		case <-ch:
			fmt.Fprintln(errw, "m1: quit")
			os.Exit(exitInterrupt)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(ch)
		cancel()
	}
}
