package batch

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// MemoryPerTask is the memory a running task is counted to need when the
// default parallelism is worked out: a headless Chromium with a few pages,
// m1's own share, and headroom for the code container.
const MemoryPerTask = 1536 << 20

// DefaultParallel is how many tasks run at once when --parallel is not
// given: one a core, fewer when the memory available would not hold them.
// from says how it was worked out, to be shown at the start.
func DefaultParallel() (n int, from string) {
	cores := runtime.NumCPU()
	avail, ok := memAvailable()
	if !ok {
		return max(cores, 1), fmt.Sprintf("%d cores", cores)
	}
	n = min(cores, int(avail/MemoryPerTask))
	return max(n, 1), fmt.Sprintf("%d cores, %.1f GiB memory available, %.1f GiB a task", cores,
		float64(avail)/(1<<30), float64(MemoryPerTask)/(1<<30))
}

// memAvailable reads MemAvailable from /proc/meminfo (Linux).
func memAvailable() (uint64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "MemAvailable" {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		return kb << 10, err == nil
	}
	return 0, false
}
