package convert_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/m1-project/m1/surfers/file/convert"
)

// TestConvertRefusesNamedPipe checks that a FIFO without a writer is
// refused at once: opening it for reading would block for ever, past any
// context.
func TestConvertRefusesNamedPipe(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pipe.csv")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := convert.Convert(context.Background(), path)
		done <- err
	}()
	select {
	case err := <-done:
		var nr *convert.NotRegularError
		if !errors.As(err, &nr) || nr.Kind() != "a named pipe (FIFO)" {
			t.Fatalf("Convert(fifo) = %v, want a NotRegularError for a named pipe", err)
		}
	case <-time.After(time.Minute):
		// Let the blocked open go before failing.
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("Convert blocked on a named pipe")
	}
}

func TestSupported(t *testing.T) {
	t.Parallel()
	for format, want := range map[string]bool{"pdf": true, "text": true, "empty": true, "binary": false, "unsupported": false} {
		if got := convert.Supported(format); got != want {
			t.Errorf("Supported(%q) = %v, want %v", format, got, want)
		}
	}
}
