//go:build linux

package main

import (
	"os"
	"runtime"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// swappers maps each script to the swap loop it started.
var swappers = struct {
	sync.Mutex
	m map[*testscript.TestScript]*swapper
}{m: map[*testscript.TestScript]*swapper{}}

// swapper keeps exchanging a file with a symlink, as hostile code in the
// sandbox can.
type swapper struct {
	stop  chan struct{}
	done  chan struct{}
	swaps int
	err   error
}

// swaplink PATH TARGET: writes a decoy file at PATH and a symlink to TARGET
// beside it, then swaps the two with renameat2(RENAME_EXCHANGE) in a loop
// until the script ends, so PATH is at every moment either the decoy or the
// link. swaplink -check stops the loop and fails unless it swapped at least
// a thousand times without error.
func cmdSwapLink(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: swaplink PATH TARGET | swaplink -check")
	}
	if len(args) == 1 && args[0] == "-check" {
		swappers.Lock()
		sw := swappers.m[ts]
		swappers.Unlock()
		if sw == nil {
			ts.Fatalf("swaplink -check: no swap loop runs")
		}
		close(sw.stop)
		<-sw.done
		if sw.err != nil {
			ts.Fatalf("swap loop: %v", sw.err)
		}
		if sw.swaps < 1000 {
			ts.Fatalf("swap loop swapped only %d times", sw.swaps)
		}
		ts.Logf("swap loop swapped %d times", sw.swaps)
		return
	}
	if len(args) != 2 {
		ts.Fatalf("usage: swaplink PATH TARGET | swaplink -check")
	}
	path := ts.MkAbs(args[0])
	other := path + ".swap"
	ts.Check(os.WriteFile(path, []byte("DECOY-CONTENT: this file is inside the work dir.\n"), 0o644))
	ts.Check(os.Symlink(args[1], other))
	sw := &swapper{stop: make(chan struct{}), done: make(chan struct{})}
	// Several threads swap at once, so that one of them is likely on a CPU
	// whenever m1 is, even on a loaded machine.
	const threads = 3
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			n := 0
			defer func() {
				mu.Lock()
				sw.swaps += n
				mu.Unlock()
			}()
			for {
				select {
				case <-sw.stop:
					return
				default:
				}
				if err := unix.Renameat2(unix.AT_FDCWD, path, unix.AT_FDCWD, other, unix.RENAME_EXCHANGE); err != nil {
					mu.Lock()
					sw.err = err
					mu.Unlock()
					return
				}
				n++
			}
		}()
	}
	go func() {
		wg.Wait()
		close(sw.done)
	}()
	swappers.Lock()
	swappers.m[ts] = sw
	swappers.Unlock()
	ts.Defer(func() {
		swappers.Lock()
		delete(swappers.m, ts)
		swappers.Unlock()
		select {
		case <-sw.done:
		default:
			close(sw.stop)
			<-sw.done
		}
	})
}
