package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strconv"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// shot is an annotated screenshot: PNG bytes for the model and, when a
// screenshot dir is set, the file it was saved to.
type shot struct {
	png  []byte
	path string
}

// palette colours the boxes; a target keeps its colour across steps as it
// keeps its id.
var palette = []color.RGBA{
	{230, 25, 75, 255}, {60, 180, 75, 255}, {0, 130, 200, 255}, {245, 130, 48, 255},
	{145, 30, 180, 255}, {0, 160, 160, 255}, {240, 50, 230, 255}, {128, 128, 0, 255},
	{170, 110, 40, 255}, {0, 0, 128, 255}, {128, 0, 0, 255}, {0, 100, 0, 255},
}

// screenshot captures the viewport, scales it for the model and draws a box
// and an id label on each target in view.
func (c *chrome) screenshot(ctx context.Context, o *observation) (*shot, error) {
	tb := c.activeTab()
	tctx, cancel := tb.with(ctx)
	defer cancel()
	tctx, tcancel := context.WithTimeout(tctx, observeTimeout)
	defer tcancel()
	// JPEG is much faster for Chrome to encode than PNG, and the image is
	// re-encoded here anyway. Chrome scales it to the model's size as it
	// draws, which costs it nothing and saves a scaling pass here.
	p := page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: ptr[int64](90), OptimizeForSpeed: ptr(true)}
	if o.VW > 0 && o.VH > 0 && c.opts.ModelImageWidth > 0 && c.opts.ModelImageHeight > 0 {
		p.Clip = &page.Viewport{X: o.ScrollX, Y: o.ScrollY, Width: o.VW, Height: o.VH, Scale: float64(c.opts.ModelImageWidth) / o.VW}
	}
	data, err := chromedp.Run(tctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, p)
		return res.Data, err
	})
	if err != nil {
		return nil, fmt.Errorf("capture screenshot: %w", err)
	}
	src, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode screenshot: %w", err)
	}
	img := annotate(src, o, c.opts.ModelImageWidth, c.opts.ModelImageHeight)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode screenshot: %w", err)
	}
	s := &shot{png: buf.Bytes()}
	if c.opts.ScreenshotDir != "" {
		c.shots++
		name := fmt.Sprintf("websurfer-%04d-%d.png", c.shots, os.Getpid())
		p := filepath.Join(c.opts.ScreenshotDir, name)
		if err := os.MkdirAll(c.opts.ScreenshotDir, 0o755); err != nil {
			return s, fmt.Errorf("save screenshot: %w", err)
		}
		if err := os.WriteFile(p, s.png, 0o644); err != nil {
			return s, fmt.Errorf("save screenshot: %w", err)
		}
		s.path = p
	}
	return s, nil
}

// annotate scales src to w x h (keeping it when w or h is 0) and draws the
// set-of-marks boxes of the targets in view.
func annotate(src image.Image, o *observation, w, h int) *image.RGBA {
	sb := src.Bounds()
	if w <= 0 || h <= 0 {
		w, h = sb.Dx(), sb.Dy()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if sb.Dx() == w && sb.Dy() == h {
		draw.Draw(dst, dst.Bounds(), src, sb.Min, draw.Src)
	} else {
		xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, sb, draw.Src, nil)
	}
	vw, vh := o.VW, o.VH
	if vw <= 0 || vh <= 0 {
		vw, vh = float64(sb.Dx()), float64(sb.Dy())
	}
	sx, sy := float64(w)/vw, float64(h)/vh
	face := basicfont.Face7x13
	for _, t := range o.Targets {
		if !t.InView {
			continue
		}
		col := palette[t.ID%len(palette)]
		for i, r := range t.Rects {
			box := image.Rect(int(r[0]*sx), int(r[1]*sy), int((r[0]+r[2])*sx), int((r[1]+r[3])*sy)).Intersect(dst.Bounds())
			if box.Empty() {
				continue
			}
			outline(dst, box, col, 2)
			if i > 0 {
				continue
			}
			label := strconv.Itoa(t.ID)
			lw := font.MeasureString(face, label).Ceil() + 4
			lh := 14
			// Above the box when there is room, else inside its top edge.
			ly := box.Min.Y - lh
			if ly < 0 {
				ly = box.Min.Y
			}
			lx := min(box.Min.X, w-lw)
			bg := image.Rect(lx, ly, lx+lw, ly+lh)
			draw.Draw(dst, bg, &image.Uniform{col}, image.Point{}, draw.Src)
			d := font.Drawer{Dst: dst, Src: image.White, Face: face, Dot: fixed.P(lx+2, ly+11)}
			d.DrawString(label)
		}
	}
	return dst
}

// outline draws a rectangle border of width px.
func outline(dst *image.RGBA, r image.Rectangle, col color.RGBA, px int) {
	u := &image.Uniform{col}
	for _, edge := range []image.Rectangle{
		image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+px),
		image.Rect(r.Min.X, r.Max.Y-px, r.Max.X, r.Max.Y),
		image.Rect(r.Min.X, r.Min.Y, r.Min.X+px, r.Max.Y),
		image.Rect(r.Max.X-px, r.Min.Y, r.Max.X, r.Max.Y),
	} {
		draw.Draw(dst, edge.Intersect(r), u, image.Point{}, draw.Src)
	}
}
