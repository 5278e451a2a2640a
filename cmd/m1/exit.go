package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/m1-project/m1/agent"
	"github.com/m1-project/m1/config"
	"github.com/m1-project/m1/model"
	"github.com/m1-project/m1/runner"
)

// Exit codes.
const (
	exitOK        = 0
	exitRuntime   = 1
	exitUsage     = 2
	exitLimit     = 3
	exitInterrupt = 130
)

// usageError is a mistake in how m1 was called or configured; it exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// statusError ends a run whose outcome was already reported by its result
// event: only the exit code is left to give.
type statusError struct{ status string }

func (e statusError) Error() string { return "run ended: " + e.status }

// shownError is an error the console already showed in full (its ✗ line
// and the status after it): Main prints nothing more, and the exit code
// is the error's own.
type shownError struct{ error }

func (e shownError) Unwrap() error { return e.error }

// exitCode maps an error to the process's exit code. This is the one place
// that decides it.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var se statusError
	if errors.As(err, &se) {
		switch se.status {
		case agent.StatusSuccess:
			return exitOK
		case agent.StatusIncomplete:
			return exitLimit
		case agent.StatusCancelled:
			return exitInterrupt
		}
		return exitRuntime
	}
	var (
		ue  usageError
		rue *runner.UsageError
		ce  *config.Error
	)
	switch {
	case errors.As(err, &ue), errors.As(err, &rue), errors.As(err, &ce):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupt
	case errors.Is(err, model.ErrAuth), errors.Is(err, model.ErrModelNotFound):
		return exitUsage
	}
	if runner.IsSetupError(err) {
		return exitUsage
	}
	return exitRuntime
}
