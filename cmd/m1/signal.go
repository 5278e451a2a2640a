package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interruptContext is cancelled by the first Ctrl-C, SIGTERM, SIGHUP (the
// terminal was closed, the ssh connection dropped) or SIGPIPE on m1's own
// output (m1 ... | head): the run stops its current step, checkpoints and
// removes its container, as it does for Ctrl-C, rather than dying with the
// model's code still running in Docker. Only a second Ctrl-C quits at
// once: a closed terminal sends SIGHUP more than once (the kernel, then
// the shell), and that must not cut the clean-up short.
func interruptContext(parent context.Context, errw io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 4)
	// With SIGPIPE watched, a write to a closed stdout fails with EPIPE
	// instead of killing m1 before it records how the session ended.
	sigs := []os.Signal{syscall.SIGTERM, syscall.SIGPIPE}
	// A signal the parent set to be ignored stays ignored: nohup m1 ...
	// must outlive the terminal, and a job started with & in a script
	// ignores Ctrl-C. Notify would turn them back on.
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		stopping := false
		for {
			var sig os.Signal
			select {
			case sig = <-ch:
			case <-done:
				return
			}
			// SIGPIPE also comes from a socket whose peer left (a model
			// server, Docker); those failures are the callers' to handle.
			if sig == syscall.SIGPIPE && !outputClosed() {
				continue
			}
			if stopping {
				if sig == os.Interrupt {
					fmt.Fprintln(errw, "m1: quit")
					os.Exit(exitInterrupt)
				}
				continue
			}
			stopping = true
			why := "interrupted"
			switch sig {
			case syscall.SIGTERM:
				why = "terminated"
			case syscall.SIGHUP:
				why = "hangup (terminal closed)"
			case syscall.SIGPIPE:
				why = "output closed"
			}
			fmt.Fprintf(errw, "\nm1: %s: stopping and saving the session (press Ctrl-C again to quit at once)\n", why)
			cancel()
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(ch)
		cancel()
	}
}
