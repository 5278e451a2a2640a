package batch

import (
	"runtime"
	"strings"
	"testing"
)

// The default parallelism is at least one task and at most one a core,
// and says what it was worked out from.
func TestDefaultParallel(t *testing.T) {
	n, from := DefaultParallel()
	if n < 1 || n > max(runtime.NumCPU(), 1) {
		t.Errorf("DefaultParallel() = %d on %d cores", n, runtime.NumCPU())
	}
	if !strings.Contains(from, "cores") {
		t.Errorf("DefaultParallel() says %q, want the cores it counted", from)
	}
	if avail, ok := memAvailable(); ok && avail < MemoryPerTask && n != 1 {
		t.Errorf("%d tasks at once with %d bytes available", n, avail)
	}
}
