package runner

import (
	"errors"
	"fmt"

	"github.com/m1-project/m1/terminal"
)

// UsageError is a mistake in how a run was asked for or configured: a bad
// setting, a missing session. The command line exits 2 for it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// IsSetupError reports errors of the machine's setup (no Docker daemon, no
// image) that are fixed like a configuration error, not by retrying.
func IsSetupError(err error) bool {
	return errors.Is(err, terminal.ErrDockerUnavailable) || errors.Is(err, terminal.ErrImageUnavailable)
}
