package convert

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif" // register decoders for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"strings"

	"github.com/rwcarlsen/goexif/exif"
	"github.com/rwcarlsen/goexif/tiff"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// visionMIME lists the image types vision models accept as they are.
var visionMIME = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// maxVisionBytes caps an image attached for a vision model.
const maxVisionBytes = 20 << 20

// convertImage describes an image (format, dimensions, EXIF) and attaches
// it for vision models; the text is what a text-only model gets.
func convertImage(_ context.Context, s *source) (*Document, error) {
	data, err := s.readWhole()
	if err != nil {
		return nil, err
	}
	doc := &Document{Title: s.name}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", s.name)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	mime := http.DetectContentType(data)
	if err != nil {
		fmt.Fprintf(&b, "Image of type %s, %s; its dimensions could not be read (%v).\n\n", mime, humanBytes(s.size), err)
	} else {
		fmt.Fprintf(&b, "Image: %s, %d × %d pixels, %s.\n\n", strings.ToUpper(format), cfg.Width, cfg.Height, humanBytes(s.size))
		doc.Metadata = append(doc.Metadata, Field{"Format", format}, Field{"Width", fmt.Sprint(cfg.Width)}, Field{"Height", fmt.Sprint(cfg.Height)})
		if format == "webp" {
			mime = "image/webp"
		}
	}
	if rows := exifRows(data); len(rows) > 1 {
		b.WriteString("## EXIF\n\n")
		writeTable(&b, rows)
	}
	if visionMIME[mime] && len(data) <= maxVisionBytes && err == nil {
		doc.Images = append(doc.Images, Image{Name: s.name, MIME: mime, Data: data})
		b.WriteString("The image itself is attached for models that can see.\n")
	} else {
		b.WriteString("The image is not attached (its type or size is not one vision models accept); only this description is available.\n")
	}
	doc.Markdown = b.String()
	return doc, nil
}

type exifWalker struct{ rows [][]string }

func (w *exifWalker) Walk(name exif.FieldName, tag *tiff.Tag) error {
	switch name {
	case exif.MakerNote, "UserComment", "PrintImageMatching", "ComponentsConfiguration", "InteroperabilityIndex":
		return nil
	}
	if len(w.rows) > 80 {
		return nil
	}
	v := strings.Trim(tag.String(), `"`)
	if len(v) > 120 {
		v = v[:120] + "…"
	}
	w.rows = append(w.rows, []string{string(name), v})
	return nil
}

// exifRows returns the EXIF tags of data as table rows with a header, or
// nil when there are none.
func exifRows(data []byte) (rows [][]string) {
	defer func() {
		if recover() != nil {
			rows = nil // a broken EXIF block is not worth failing the image
		}
	}()
	x, err := exif.Decode(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	w := &exifWalker{rows: [][]string{{"Tag", "Value"}}}
	_ = x.Walk(w)
	if lat, long, err := x.LatLong(); err == nil {
		w.rows = append(w.rows, []string{"GPS position", fmt.Sprintf("%.6f, %.6f", lat, long)})
	}
	return w.rows
}
