package convert_test

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/m1-project/m1/surfers/file/convert"
)

// BenchmarkConvertFixtures converts the fixtures folder, once per format
// (BenchmarkConvertFixtures/docx converts every fixture detected as DOCX)
// and once whole (/all), so MB/s is each format's conversion throughput.
// The fixtures are small, so the figures include the fixed cost of opening
// and detecting each file.
func BenchmarkConvertFixtures(b *testing.B) {
	type fixture struct {
		path string
		size int64
	}
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		b.Fatal(err)
	}
	var all []fixture
	byFormat := map[string][]fixture{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		f := fixture{filepath.Join(fixtureDir, e.Name()), info.Size()}
		doc, err := convert.Convert(context.Background(), f.path)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, f)
		// An empty file has no throughput to speak of; it counts in /all.
		if f.size > 0 {
			byFormat[doc.Format] = append(byFormat[doc.Format], f)
		}
	}
	bench := func(name string, files []fixture) {
		b.Run(name, func(b *testing.B) {
			var total int64
			for _, f := range files {
				total += f.size
			}
			b.SetBytes(total)
			for b.Loop() {
				for _, f := range files {
					if _, err := convert.Convert(context.Background(), f.path); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	formats := make([]string, 0, len(byFormat))
	for format := range byFormat {
		formats = append(formats, format)
	}
	slices.SortFunc(formats, cmp.Compare)
	for _, format := range formats {
		bench(format, byFormat[format])
	}
	bench("all", all)
}
