//go:build !linux

package main

import "github.com/rogpeppe/go-internal/testscript"

// cmdSwapLink needs renameat2(RENAME_EXCHANGE), which only Linux has.
func cmdSwapLink(ts *testscript.TestScript, neg bool, args []string) {
	ts.Fatalf("swaplink needs Linux's renameat2: guard the script with [!linux] skip")
}
