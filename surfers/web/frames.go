package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// The surfer reads every frame of a page, same-origin or not: consent
// dialogs live in frames, and so do embedded forms. Each frame's document
// gets marks.js in an isolated world of its own (page.createIsolatedWorld),
// which the page's scripts cannot see or fake; a frame of another site runs
// in another renderer process (site isolation) and is reached through a
// session attached to its own target. Positions are added up from the
// frame elements' content boxes, and clicks go to the page, which routes
// them into the frames as a user's would.

// worldName names the surfer's isolated worlds.
const worldName = "m1"

// maxFrames and maxFrameDepth bound the frames read per observation.
const (
	maxFrames     = 12
	maxFrameDepth = 3
)

// world is the surfer's isolated world in one frame's current document.
type world struct {
	sess  context.Context // chromedp context of the target that owns the frame
	frame cdp.FrameID
	gens  *frameGens // where the frame's document generation is followed
	ctxID runtime.ExecutionContextID
	gen   int  // the frame's generation when ctxID was made
	ready bool // marks.js is installed in ctxID
}

// frameGens counts, per frame of one session, the documents each frame has
// had, so a world made for an earlier document (whose context id another
// process may reuse) is never evaluated in.
type frameGens struct {
	mu   sync.Mutex
	gens map[cdp.FrameID]int
	kids int // child frames attached and not detached
}

func newFrameGens() *frameGens { return &frameGens{gens: map[cdp.FrameID]int{}} }

func (g *frameGens) handle(ev any) {
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame != nil {
			g.mu.Lock()
			g.gens[ev.Frame.ID]++
			g.mu.Unlock()
		}
	case *page.EventFrameAttached:
		g.mu.Lock()
		g.kids++
		g.mu.Unlock()
	case *page.EventFrameDetached:
		g.mu.Lock()
		g.kids = max(0, g.kids-1)
		delete(g.gens, ev.FrameID)
		g.mu.Unlock()
	}
}

func (g *frameGens) gen(f cdp.FrameID) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gens[f]
}

// hasKids reports whether frames were attached to the session's pages.
func (g *frameGens) hasKids() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.kids > 0
}

// errNotInFrame means the frame is not the session's to reach (it runs in
// another process: an out-of-process frame).
var errNotInFrame = errors.New("frame not in this session")

// ensure makes the world's execution context for the frame's current
// document and installs marks.js in it.
func (w *world) ensure(ctx context.Context) (runtime.ExecutionContextID, error) {
	gen := w.gens.gen(w.frame)
	if w.ctxID != 0 && w.gen == gen {
		return w.ctxID, nil
	}
	sctx, cancel := withStop(ctx, w.sess)
	defer cancel()
	res, err := chromedp.Call(sctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: w.frame, WorldName: worldName})
	if err != nil {
		if strings.Contains(err.Error(), "No frame for given id") {
			return 0, errNotInFrame
		}
		return 0, fmt.Errorf("create the surfer's world: %w", err)
	}
	w.ctxID, w.gen, w.ready = res.ExecutionContextID, gen, false
	return w.ctxID, nil
}

// staleContext reports an evaluation in a context that is gone (the
// document was replaced).
func staleContext(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "Cannot find context") || strings.Contains(s, "context was destroyed") ||
		strings.Contains(s, "Execution context was destroyed")
}

// eval evaluates expr in the world and returns its string result,
// remaking the world once when its document was replaced under it.
func (w *world) eval(ctx context.Context, expr string, await bool) (string, error) {
	for attempt := 0; ; attempt++ {
		id, err := w.ensure(ctx)
		if err != nil {
			return "", err
		}
		sctx, cancel := withStop(ctx, w.sess)
		opts := []chromedp.EvaluateOption{func(p *runtime.EvaluateParams) { p.ContextID = id }}
		if await {
			opts = append(opts, chromedp.EvalAwaitPromise)
		}
		s, err := chromedp.Run(sctx, chromedp.Evaluate[string](expr, opts...))
		cancel()
		if staleContext(err) && attempt == 0 {
			w.ctxID = 0
			continue
		}
		return s, err
	}
}

// call runs window.__m1.<call>, which returns JSON, in the world and
// decodes it. marks.js (20 KB) is sent with the first call into a world
// only.
func callIn[T any](ctx context.Context, w *world, call string) (T, error) {
	var v T
	expr := "window.__m1." + call
	if !w.ready {
		expr = marksJS + "\n;" + expr
	}
	sent := !w.ready
	s, err := w.eval(ctx, expr, false)
	if err != nil && !sent && ctx.Err() == nil {
		// The world was remade under the call (a new document): again,
		// with marks.js.
		s, err = w.eval(ctx, marksJS+"\n;window.__m1."+call, false)
	}
	if err != nil {
		return v, err
	}
	w.ready = true
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, fmt.Errorf("decode page data: %w", err)
	}
	return v, nil
}

// callOn calls fn (a function declaration taking this and args) on the
// remote object obj in sess and returns its string result.
func callOn(ctx context.Context, sess context.Context, obj runtime.RemoteObjectID, fn string, args ...any) (string, error) {
	sctx, cancel := withStop(ctx, sess)
	defer cancel()
	var cargs []*runtime.CallArgument
	for _, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			return "", err
		}
		cargs = append(cargs, &runtime.CallArgument{Value: b})
	}
	return chromedp.Run(sctx, func(ctx context.Context, t *chromedp.Target) (string, error) {
		res, err := cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: fn, ObjectID: obj, Arguments: cargs, ReturnByValue: ptr(true),
		})
		if err != nil {
			return "", err
		}
		if res.ExceptionDetails != nil {
			return "", fmt.Errorf("page script: %s", res.ExceptionDetails.Text)
		}
		var s string
		if res.Result != nil && len(res.Result.Value) > 0 {
			_ = json.Unmarshal(res.Result.Value, &s)
		}
		return s, nil
	})
}

// oopif is a session attached to an out-of-process frame.
type oopif struct {
	ctx    context.Context
	cancel context.CancelFunc
	gens   *frameGens
}

// frameRef is one frame read in the last observation.
type frameRef struct {
	id     cdp.FrameID
	key    string
	parent *world // the world of the document that holds the frame element
	owner  runtime.RemoteObjectID
	w      *world
	up     *frameRef // the enclosing frame, nil under the main frame
	url    string
	title  string
	// offX, offY are the frame content's origin in the tab's viewport,
	// and clip the part of it visible there (x0, y0, x1, y1), at the last
	// observation.
	offX, offY float64
	clip       [4]float64
}

// box is what marks.js frameBox says of a frame element.
type frameBoxData struct {
	X, Y, W, H float64
	Shown, Hit bool
	Clip       *[4]float64
}

// frameBox registers and measures the frame element owner in its
// document's world.
func frameBox(ctx context.Context, parent *world, owner runtime.RemoteObjectID, key string, scroll bool) (frameBoxData, error) {
	var b frameBoxData
	s, err := callOn(ctx, parent.sess, owner, `function(k, s) { return window.__m1.frameBox(this, k, s); }`, key, scroll)
	if err != nil {
		return b, err
	}
	err = json.Unmarshal([]byte(s), &b)
	return b, err
}

// mainWorld returns the tab's world in its main frame.
func (tb *tab) mainWorld() *world {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.main == nil {
		tb.main = &world{sess: tb.ctx, frame: cdp.FrameID(tb.id), gens: tb.gens}
	}
	return tb.main
}

// childWorld returns the tab's world in one of its frames, made lazily.
func (tb *tab) childWorld(sess context.Context, gens *frameGens, id cdp.FrameID) *world {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.worlds == nil {
		tb.worlds = map[cdp.FrameID]*world{}
	}
	w := tb.worlds[id]
	if w == nil || w.sess != sess {
		w = &world{sess: sess, frame: id, gens: gens}
		tb.worlds[id] = w
	}
	return w
}

// attachFrame attaches to the out-of-process frame id, once per tab.
func (c *chrome) attachFrame(ctx context.Context, tb *tab, id cdp.FrameID) (*oopif, error) {
	tb.mu.Lock()
	o := tb.oopifs[target.ID(id)]
	tb.mu.Unlock()
	if o != nil && o.ctx.Err() == nil {
		return o, nil
	}
	g := newFrameGens()
	octx, cancel := chromedp.NewContext(c.rootCtx, chromedp.WithTargetID(target.ID(id)), chromedp.WithDetachOnCancel(), chromedp.WithListener(g.handle))
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(octx) }()
	select {
	case err := <-done:
		if err != nil {
			cancel()
			return nil, fmt.Errorf("attach to frame %s: %w", id, err)
		}
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	o = &oopif{ctx: octx, cancel: cancel, gens: g}
	tb.mu.Lock()
	if tb.oopifs == nil {
		tb.oopifs = map[target.ID]*oopif{}
	}
	tb.oopifs[target.ID(id)] = o
	tb.mu.Unlock()
	return o, nil
}

// dropFrames forgets the tab's frame sessions (its page was replaced).
func (tb *tab) dropFrames() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, o := range tb.oopifs {
		o.cancel()
	}
	tb.oopifs, tb.worlds, tb.frames = nil, nil, nil
}

// readFrames finds the frames of the tab's page that show in the viewport,
// registers each with its frame element (so the text shows the frame's
// content at its place) and measures where its content is. It is cheap
// when the page has no frames. Frames of the page's own process are in its
// frame tree; those of other sites run in other processes, each a target
// of its own whose parent frame the browser names.
func (c *chrome) readFrames(ctx context.Context, tb *tab) []*frameRef {
	if !tb.gens.hasKids() {
		tb.mu.Lock()
		tb.frames = nil
		tb.mu.Unlock()
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	// The out-of-process frames of the browser, by parent frame.
	remote := map[cdp.FrameID][]*target.Info{}
	cctx, ccancel := withStop(fctx, c.rootCtx)
	if res, err := chromedp.CallBrowser(cctx, target.GetTargets, target.GetTargetsParams{}); err == nil {
		for _, info := range res.TargetInfos {
			if info.Type == "iframe" && info.ParentFrameID != "" {
				remote[info.ParentFrameID] = append(remote[info.ParentFrameID], info)
			}
		}
	}
	ccancel()
	var out []*frameRef
	var walk func(sess context.Context, gens *frameGens, parent *world, up *frameRef, frame cdp.FrameID, local []*page.FrameTree, depth int)
	walk = func(sess context.Context, gens *frameGens, parent *world, up *frameRef, frame cdp.FrameID, local []*page.FrameTree, depth int) {
		if depth > maxFrameDepth {
			return
		}
		type kid struct {
			id     cdp.FrameID
			url    string
			remote bool
			tree   *page.FrameTree
		}
		var kids []kid
		for _, ch := range local {
			if ch.Frame != nil {
				kids = append(kids, kid{id: ch.Frame.ID, url: ch.Frame.URL, tree: ch})
			}
		}
		for _, info := range remote[frame] {
			kids = append(kids, kid{id: cdp.FrameID(info.TargetID), url: info.URL, remote: true})
		}
		for _, k := range kids {
			if len(out) >= maxFrames || fctx.Err() != nil {
				return
			}
			f := c.frameRef(fctx, tb, sess, gens, parent, up, k.id, k.url, k.remote)
			if f == nil {
				continue
			}
			out = append(out, f)
			if !k.remote {
				walk(sess, gens, f.w, f, k.id, k.tree.ChildFrames, depth+1)
				continue
			}
			// Its own frames are in its session.
			if tree, err := frameTree(fctx, f.w.sess); err == nil {
				walk(f.w.sess, f.w.gens, f.w, f, k.id, tree.ChildFrames, depth+1)
			}
		}
	}
	tree, err := frameTree(fctx, tb.ctx)
	if err != nil {
		return nil
	}
	walk(tb.ctx, tb.gens, tb.mainWorld(), nil, tree.Frame.ID, tree.ChildFrames, 1)
	tb.mu.Lock()
	tb.frames = out
	tb.mu.Unlock()
	return out
}

func frameTree(ctx context.Context, sess context.Context) (*page.FrameTree, error) {
	sctx, cancel := withStop(ctx, sess)
	defer cancel()
	res, err := chromedp.Call(sctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	return res.FrameTree, nil
}

// frameRef measures one child frame id of the document parent shows (a
// frame in another process when remote); nil when it is hidden, out of view
// or cannot be reached.
func (c *chrome) frameRef(ctx context.Context, tb *tab, sess context.Context, gens *frameGens, parent *world, up *frameRef, id cdp.FrameID, url string, remote bool) *frameRef {
	pctx, err := parent.ensure(ctx)
	if err != nil {
		return nil
	}
	sctx, cancel := withStop(ctx, sess)
	own, err := chromedp.Call(sctx, dom.GetFrameOwner, dom.GetFrameOwnerParams{FrameID: id})
	if err != nil {
		cancel()
		return nil
	}
	node, err := chromedp.Call(sctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: own.BackendNodeID, ExecutionContextID: pctx, ObjectGroup: "m1-frames"})
	cancel()
	if err != nil || node.Object == nil || node.Object.ObjectID == "" {
		return nil
	}
	// marks.js must be in the parent's world before frameBox is called on
	// one of its elements.
	if !parent.ready {
		if _, err := parent.eval(ctx, marksJS+"\n;\"\"", false); err != nil {
			return nil
		}
		parent.ready = true
	}
	key := string(id)
	b, err := frameBox(ctx, parent, node.Object.ObjectID, key, false)
	if err != nil || !b.Shown || b.Clip == nil {
		return nil
	}
	var w *world
	if !remote {
		w = tb.childWorld(sess, gens, id)
		_, err = w.ensure(ctx)
		remote = errors.Is(err, errNotInFrame) // it moved to another process meanwhile
		if err != nil && !remote {
			return nil
		}
	}
	if remote {
		o, err := c.attachFrame(ctx, tb, id)
		if err != nil {
			return nil
		}
		w = tb.childWorld(o.ctx, o.gens, id)
		if _, err := w.ensure(ctx); err != nil {
			return nil
		}
	}
	var ox, oy float64
	vis := [4]float64{0, 0, 1e9, 1e9}
	if up != nil {
		ox, oy, vis = up.offX, up.offY, up.clip
	}
	f := &frameRef{id: id, key: key, parent: parent, owner: node.Object.ObjectID, w: w, up: up, url: url}
	f.offX, f.offY = ox+b.X, oy+b.Y
	cl := *b.Clip
	f.clip = [4]float64{max(vis[0], ox+cl[0]), max(vis[1], oy+cl[1]), min(vis[2], ox+cl[2]), min(vis[3], oy+cl[3])}
	if f.clip[2]-f.clip[0] < 1 || f.clip[3]-f.clip[1] < 1 {
		return nil
	}
	return f
}

// offset recomputes where frame f's content starts in the tab's viewport,
// scrolling its frame elements into view when asked; it returns the
// visible part too.
func (f *frameRef) offset(ctx context.Context, scroll bool) (x, y float64, clip [4]float64, err error) {
	var ux, uy float64
	vis := [4]float64{0, 0, 1e9, 1e9}
	if f.up != nil {
		if ux, uy, vis, err = f.up.offset(ctx, scroll); err != nil {
			return 0, 0, clip, err
		}
	}
	b, err := frameBox(ctx, f.parent, f.owner, f.key, scroll)
	if err != nil {
		return 0, 0, clip, err
	}
	if b.Clip == nil || !b.Shown {
		return 0, 0, clip, errors.New("the frame is not visible")
	}
	cl := *b.Clip
	clip = [4]float64{max(vis[0], ux+cl[0]), max(vis[1], uy+cl[1]), min(vis[2], ux+cl[2]), min(vis[3], uy+cl[3])}
	return ux + b.X, uy + b.Y, clip, nil
}

// frameTimeout bounds the reading of one frame, so a frame that hangs does
// not hold the observation of the page.
const frameTimeout = 2 * time.Second
