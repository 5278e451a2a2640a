package convert

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// pkg is an opened ZIP container (OOXML, EPUB) with bounded member reads.
type pkg struct {
	zr    *zip.Reader
	files map[string]*zip.File
	lim   *Limits
	read  int64
}

func openPkg(s *source) (*pkg, error) {
	zr, err := zip.NewReader(s.r, s.size)
	if err != nil {
		return nil, fmt.Errorf("invalid ZIP container: %w", err)
	}
	p := &pkg{zr: zr, files: make(map[string]*zip.File, len(zr.File)), lim: s.lim}
	for _, f := range zr.File {
		p.files[strings.TrimPrefix(f.Name, "/")] = f
	}
	return p, nil
}

// has reports whether the package holds name.
func (p *pkg) has(name string) bool { return p.files[name] != nil }

// bytes reads one member, refusing members that would take the package
// past its uncompressed budget or claim an absurd compression ratio.
func (p *pkg) bytes(name string) ([]byte, error) {
	f := p.files[name]
	if f == nil {
		return nil, fmt.Errorf("%s is missing", name)
	}
	if f.CompressedSize64 > 0 && float64(f.UncompressedSize64)/float64(f.CompressedSize64) > p.lim.MaxZipRatio && f.UncompressedSize64 > 1<<20 {
		return nil, fmt.Errorf("%s expands %d times (a zip bomb?); not read", name, f.UncompressedSize64/f.CompressedSize64)
	}
	budget := p.lim.MaxZipTotalBytes - p.read
	if int64(f.UncompressedSize64) > budget {
		return nil, fmt.Errorf("%s is %s uncompressed, past the %s read limit", name, humanBytes(int64(f.UncompressedSize64)), humanBytes(p.lim.MaxZipTotalBytes))
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, budget+1))
	p.read += n
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if n > budget {
		return nil, fmt.Errorf("%s is larger than it claims; not read", name)
	}
	return buf.Bytes(), nil
}

// xml reads and parses one member.
func (p *pkg) xml(name string) (*xnode, error) {
	b, err := p.bytes(name)
	if err != nil {
		return nil, err
	}
	n, err := parseXML(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return n, nil
}

// relation is one entry of a .rels part.
type relation struct {
	Type, Target string
	External     bool
}

// rels reads the relationships of part (word/document.xml ->
// word/_rels/document.xml.rels), resolving internal targets to package
// paths. A missing .rels part means no relationships.
func (p *pkg) rels(part string) map[string]relation {
	dir, file := path.Split(part)
	name := dir + "_rels/" + file + ".rels"
	out := map[string]relation{}
	if !p.has(name) {
		return out
	}
	root, err := p.xml(name)
	if err != nil {
		return out
	}
	for _, r := range root.all("Relationship") {
		t := r.a("Target")
		ext := r.a("TargetMode") == "External"
		if !ext {
			if strings.HasPrefix(t, "/") {
				t = strings.TrimPrefix(t, "/")
			} else {
				t = path.Clean(path.Join(dir, t))
			}
		}
		out[r.a("Id")] = relation{Type: r.a("Type"), Target: t, External: ext}
	}
	return out
}

// coreTitle reads the title and creator from docProps/core.xml.
func (p *pkg) coreProps() (title string, meta []Field) {
	if !p.has("docProps/core.xml") {
		return "", nil
	}
	root, err := p.xml("docProps/core.xml")
	if err != nil {
		return "", nil
	}
	for _, k := range []struct{ tag, key string }{{"title", "Title"}, {"creator", "Author"}, {"subject", "Subject"}, {"modified", "Modified"}} {
		if n := root.all(k.tag); len(n) > 0 {
			if v := strings.TrimSpace(n[0].textOf("")); v != "" {
				meta = append(meta, Field{k.key, v})
				if k.tag == "title" {
					title = v
				}
			}
		}
	}
	return title, meta
}
