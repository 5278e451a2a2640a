package terminal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStripSetuid walks a work dir of 10,000 files in 100 folders, as
// m1 does after every block.
func BenchmarkStripSetuid(b *testing.B) {
	dir := b.TempDir()
	for i := range 100 {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range 100 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d", j)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	since := time.Now()
	b.ResetTimer()
	for range b.N {
		if _, err := stripSetuid(dir, since); err != nil {
			b.Fatal(err)
		}
	}
}
