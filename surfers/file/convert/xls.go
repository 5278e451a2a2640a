package convert

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"
	"golang.org/x/text/encoding/charmap"
)

// BIFF8 record types read by convertXLS ([MS-XLS] 2.3).
const (
	recFormula    = 0x0006
	recEOF        = 0x000A
	recFilePass   = 0x002F
	recContinue   = 0x003C
	recBoundSheet = 0x0085
	recMulRK      = 0x00BD
	recSST        = 0x00FC
	recLabelSST   = 0x00FD
	recNumber     = 0x0203
	recLabel      = 0x0204
	recBoolErr    = 0x0205
	recString     = 0x0207
	recRK         = 0x027E
	recBOF        = 0x0809
)

// convertXLS reads a legacy Excel (BIFF8) workbook: one "## SheetName"
// section per sheet with a table of its values; formulas show their cached
// results. The reader is m1's own so that malformed files fail cleanly.
func convertXLS(ctx context.Context, s *source) (*Document, error) {
	if s.size > s.lim.MaxInputBytes {
		return nil, fmt.Errorf("the file is %s, more than the %s this reader loads", humanBytes(s.size), humanBytes(s.lim.MaxInputBytes))
	}
	cfb, err := mscfb.New(s.r)
	if err != nil {
		return nil, fmt.Errorf("invalid compound file: %w", err)
	}
	var stream []byte
	for i := 0; i < 10000; i++ {
		f, err := cfb.Next()
		if err != nil {
			break
		}
		if f.Name == "Workbook" || f.Name == "Book" {
			stream, err = io.ReadAll(io.LimitReader(f, s.lim.MaxInputBytes))
			if err != nil {
				return nil, fmt.Errorf("read workbook stream: %w", err)
			}
			break
		}
	}
	if stream == nil {
		return nil, errors.New("no Workbook stream")
	}
	wb, err := parseBIFF(ctx, stream, s.lim.MaxRows)
	if err != nil {
		return nil, err
	}
	doc := &Document{Pages: len(wb.sheets), Notes: wb.notes}
	var b strings.Builder
	for _, sh := range wb.sheets {
		fmt.Fprintf(&b, "## %s\n\n", sh.name)
		rows := trimEmptyColumns(sh.grid())
		if len(rows) == 0 {
			b.WriteString("(empty sheet)\n\n")
			continue
		}
		writeTable(&b, rows)
	}
	doc.Markdown = b.String()
	return doc, nil
}

type biffSheet struct {
	name   string
	offset uint32
	cells  map[[2]int]string
	maxRow int
	maxCol int
}

func (sh *biffSheet) set(row, col int, v string) {
	if sh.cells == nil {
		sh.cells = map[[2]int]string{}
	}
	sh.cells[[2]int{row, col}] = v
	sh.maxRow = max(sh.maxRow, row)
	sh.maxCol = max(sh.maxCol, col)
}

func (sh *biffSheet) grid() [][]string {
	if len(sh.cells) == 0 {
		return nil
	}
	keys := make([][2]int, 0, len(sh.cells))
	for k := range sh.cells {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	minRow, minCol := keys[0][0], sh.maxCol
	for _, k := range keys {
		minCol = min(minCol, k[1])
	}
	rows := make([][]string, sh.maxRow-minRow+1)
	for i := range rows {
		rows[i] = make([]string, sh.maxCol-minCol+1)
	}
	for _, k := range keys {
		rows[k[0]-minRow][k[1]-minCol] = sh.cells[k]
	}
	return rows
}

type biffBook struct {
	sheets []*biffSheet
	sst    []string
	notes  []string
}

type biffRecord struct {
	typ  uint16
	data []byte
	pos  int
}

// records splits the stream into records, joining CONTINUE records to the
// one they continue while remembering where each piece started (strings
// that cross a boundary restart with a fresh flags byte).
func records(stream []byte, from int) []biffRecord {
	var out []biffRecord
	for off := from; off+4 <= len(stream); {
		typ := binary.LittleEndian.Uint16(stream[off:])
		n := int(binary.LittleEndian.Uint16(stream[off+2:]))
		end := min(off+4+n, len(stream))
		out = append(out, biffRecord{typ: typ, data: stream[off+4 : end], pos: off})
		off = end
		if typ == recEOF && from > 0 {
			break
		}
	}
	return out
}

func parseBIFF(ctx context.Context, stream []byte, maxRows int) (*biffBook, error) {
	wb := &biffBook{}
	recs := records(stream, 0)
	for i := 0; i < len(recs); i++ {
		r := recs[i]
		switch r.typ {
		case recFilePass:
			return nil, errors.New("the workbook is password-protected")
		case recBoundSheet:
			if len(r.data) < 8 {
				continue
			}
			if r.data[5] != 0 { // not a worksheet (chart, macro sheet)
				continue
			}
			name, _ := shortXLString(r.data[6:])
			wb.sheets = append(wb.sheets, &biffSheet{name: name, offset: binary.LittleEndian.Uint32(r.data)})
		case recSST:
			var parts [][]byte
			parts = append(parts, r.data)
			for i+1 < len(recs) && recs[i+1].typ == recContinue {
				i++
				parts = append(parts, recs[i].data)
			}
			wb.sst = readSST(parts)
		case recEOF:
			i = len(recs) // globals end at the first EOF
		}
	}
	for _, sh := range wb.sheets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if int(sh.offset) >= len(stream) {
			wb.notes = append(wb.notes, fmt.Sprintf("sheet %s points past the end of the file", sh.name))
			continue
		}
		wb.readSheet(sh, records(stream, int(sh.offset)), maxRows)
	}
	return wb, nil
}

func (wb *biffBook) readSheet(sh *biffSheet, recs []biffRecord, maxRows int) {
	pendingFormula := [2]int{-1, -1}
	cut := false
	for _, r := range recs {
		d := r.data
		if len(d) < 6 && r.typ != recString {
			continue
		}
		var row, col int
		if len(d) >= 4 {
			row, col = int(binary.LittleEndian.Uint16(d)), int(binary.LittleEndian.Uint16(d[2:]))
		}
		if row >= maxRows {
			cut = true
			continue
		}
		switch r.typ {
		case recLabelSST:
			if len(d) >= 10 {
				if idx := int(binary.LittleEndian.Uint32(d[6:])); idx < len(wb.sst) {
					sh.set(row, col, wb.sst[idx])
				}
			}
		case recLabel:
			if len(d) >= 9 {
				s, _ := xlString(d[6:], int(binary.LittleEndian.Uint16(d[6:])), 8)
				sh.set(row, col, s)
			}
		case recNumber:
			if len(d) >= 14 {
				sh.set(row, col, formatNumber(math.Float64frombits(binary.LittleEndian.Uint64(d[6:]))))
			}
		case recRK:
			if len(d) >= 10 {
				sh.set(row, col, formatNumber(rkValue(binary.LittleEndian.Uint32(d[6:]))))
			}
		case recMulRK:
			for i, c := 4, col; i+6 <= len(d)-2; i, c = i+6, c+1 {
				sh.set(row, c, formatNumber(rkValue(binary.LittleEndian.Uint32(d[i+2:]))))
			}
		case recBoolErr:
			if len(d) >= 8 {
				switch {
				case d[7] == 1:
					sh.set(row, col, "#ERROR")
				case d[6] != 0:
					sh.set(row, col, "TRUE")
				default:
					sh.set(row, col, "FALSE")
				}
			}
		case recFormula:
			if len(d) >= 14 {
				res := d[6:14]
				if res[6] == 0xFF && res[7] == 0xFF {
					switch res[0] {
					case 0:
						pendingFormula = [2]int{row, col}
					case 1:
						sh.set(row, col, strings.ToUpper(strconv.FormatBool(res[2] != 0)))
					case 2:
						sh.set(row, col, "#ERROR")
					}
				} else {
					sh.set(row, col, formatNumber(math.Float64frombits(binary.LittleEndian.Uint64(res))))
				}
			}
		case recString:
			if pendingFormula[0] >= 0 && len(d) >= 3 {
				s, _ := xlString(d, int(binary.LittleEndian.Uint16(d)), 2)
				sh.set(pendingFormula[0], pendingFormula[1], s)
				pendingFormula = [2]int{-1, -1}
			}
		}
	}
	if cut {
		wb.notes = append(wb.notes, fmt.Sprintf("sheet %s: only the first %d rows are shown", sh.name, maxRows))
	}
}

// readSST decodes the shared string table spread over an SST record and
// its CONTINUE records.
func readSST(parts [][]byte) []string {
	if len(parts) == 0 || len(parts[0]) < 8 {
		return nil
	}
	total := int(binary.LittleEndian.Uint32(parts[0][4:]))
	r := &contReader{parts: parts, off: 8}
	out := make([]string, 0, min(total, 1<<16))
	for i := 0; i < total && !r.done(); i++ {
		cch, ok := r.u16()
		if !ok {
			break
		}
		flags, ok := r.byte()
		if !ok {
			break
		}
		var runs, ext int
		if flags&0x08 != 0 {
			n, _ := r.u16()
			runs = int(n)
		}
		if flags&0x04 != 0 {
			n, _ := r.u32()
			ext = int(n)
		}
		s := r.chars(int(cch), flags&0x01 != 0)
		r.skip(runs*4 + ext)
		out = append(out, s)
	}
	return out
}

// contReader reads across CONTINUE boundaries.
type contReader struct {
	parts [][]byte
	i     int
	off   int
}

func (r *contReader) done() bool {
	for r.i < len(r.parts) && r.off >= len(r.parts[r.i]) {
		r.i++
		r.off = 0
	}
	return r.i >= len(r.parts)
}

func (r *contReader) byte() (byte, bool) {
	if r.done() {
		return 0, false
	}
	b := r.parts[r.i][r.off]
	r.off++
	return b, true
}

func (r *contReader) u16() (uint16, bool) {
	a, ok1 := r.byte()
	b, ok2 := r.byte()
	return uint16(a) | uint16(b)<<8, ok1 && ok2
}

func (r *contReader) u32() (uint32, bool) {
	a, ok1 := r.u16()
	b, ok2 := r.u16()
	return uint32(a) | uint32(b)<<16, ok1 && ok2
}

func (r *contReader) skip(n int) {
	for ; n > 0; n-- {
		if _, ok := r.byte(); !ok {
			return
		}
	}
}

// chars reads n characters; a string crossing into a CONTINUE record
// restarts with a flags byte saying whether the rest is 16-bit.
func (r *contReader) chars(n int, wide bool) string {
	var u []uint16
	part := r.i
	for k := 0; k < n; k++ {
		if r.done() {
			break
		}
		if r.i != part {
			part = r.i
			f, _ := r.byte()
			wide = f&0x01 != 0
		}
		if wide {
			c, _ := r.u16()
			u = append(u, c)
		} else {
			c, _ := r.byte()
			u = append(u, uint16(c))
		}
	}
	if wide {
		return string(utf16.Decode(u))
	}
	b := make([]byte, len(u))
	for i, c := range u {
		b[i] = byte(c)
	}
	out, _ := charmap.ISO8859_1.NewDecoder().Bytes(b)
	return string(out)
}

// shortXLString reads a string with a one-byte length and a flags byte.
func shortXLString(d []byte) (string, int) {
	if len(d) < 2 {
		return "", len(d)
	}
	return xlString(d, int(d[0]), 1)
}

// xlString reads n characters after the flags byte at d[hdr].
func xlString(d []byte, n, hdr int) (string, int) {
	if len(d) <= hdr {
		return "", len(d)
	}
	r := &contReader{parts: [][]byte{d}, off: hdr + 1}
	return r.chars(n, d[hdr]&0x01 != 0), 0
}

// rkValue decodes an RK number: a compressed float or integer, maybe
// divided by 100.
func rkValue(rk uint32) float64 {
	var v float64
	if rk&0x02 != 0 {
		v = float64(int32(rk) >> 2)
	} else {
		v = math.Float64frombits(uint64(rk&0xFFFFFFFC) << 32)
	}
	if rk&0x01 != 0 {
		v /= 100
	}
	return v
}

func formatNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "#NUM!"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
