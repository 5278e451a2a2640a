package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/m1-project/m1/agent"
)

// Downloads land in the work dir's downloads folder, which code in the
// sandbox can write: a link planted there must not send a file anywhere
// else on the host. So Chrome saves into a private staging folder of its
// own, and the surfer moves each approved, finished file into the
// downloads folder through a handle on that folder opened without
// following links (os.Root, the way the terminal stages files), creating
// the file only if nothing is at its name. Codex treats the folders a
// sandboxed tool can write the same way: untrusted input to the host.

// download is one file the browser saves.
type download struct {
	guid, url, name string
	final           string // where the file goes: dest/name
	refused         error  // the downloads folder was unusable at the start
	state           cdpbrowser.DownloadProgressState
	received        float64
	approved        bool // the user (or no approver) let it land
	placed          bool
	placeErr        error
	done            chan struct{}
}

// stagingDir is where Chrome saves downloads before they are placed; it is
// created with the browser and removed with it.
func (c *chrome) prepareDownloads() error {
	if c.opts.DownloadDir == "" {
		return nil
	}
	dir, err := os.MkdirTemp("", "m1-downloads-")
	if err != nil {
		return fmt.Errorf("download staging folder: %w", err)
	}
	c.staging = dir
	// Create the downloads folder now, without following a link at its
	// name; a link found there refuses each download instead (see
	// downloadsFolder), so a run goes on without them.
	if parent, err := os.OpenRoot(filepath.Dir(c.downloadDir())); err == nil {
		_ = parent.Mkdir(filepath.Base(c.downloadDir()), 0o755)
		parent.Close()
	}
	return nil
}

func (c *chrome) removeStaging() {
	if c.staging != "" {
		_ = os.RemoveAll(c.staging)
		c.staging = ""
	}
}

func (c *chrome) setDownloads(ctx context.Context) error {
	p := cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny, EventsEnabled: ptr(true)}
	if c.staging != "" {
		p.Behavior, p.DownloadPath = cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, c.staging
	}
	cctx, cancel := withStop(ctx, c.rootCtx)
	defer cancel()
	if _, err := chromedp.CallBrowser(cctx, cdpbrowser.SetDownloadBehavior, p); err != nil {
		return fmt.Errorf("set download behaviour: %w", err)
	}
	return nil
}

// downloadDir is the absolute path of the downloads folder.
func (c *chrome) downloadDir() string {
	dir, _ := filepath.Abs(c.opts.DownloadDir)
	return dir
}

// downloadsFolder opens the downloads folder for writing: a real folder at
// that name in its parent, not a link (not even one that stays inside the
// work dir: .git/hooks is inside it too). The check and the open are one:
// the folder opened is compared with the one checked, so swapping a link in
// between is caught.
func (c *chrome) downloadsFolder() (*os.Root, error) {
	dir := c.downloadDir()
	parent, err := os.OpenRoot(filepath.Dir(dir))
	if err != nil {
		return nil, fmt.Errorf("the work dir %s cannot be opened: %w", filepath.Dir(dir), err)
	}
	defer parent.Close()
	name := filepath.Base(dir)
	before, err := parent.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		if err := parent.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("the downloads folder %s cannot be created: %w", dir, err)
		}
		before, err = parent.Lstat(name)
	}
	if err != nil {
		return nil, fmt.Errorf("the downloads folder %s cannot be read: %w", dir, err)
	}
	if before.Mode()&fs.ModeSymlink != 0 {
		to, _ := parent.Readlink(name)
		return nil, fmt.Errorf("the downloads folder %s is a symbolic link (to %s); downloads go only into a real folder inside the work dir: remove the link", dir, to)
	}
	if !before.IsDir() {
		return nil, fmt.Errorf("%s is not a folder; downloads go only into a real downloads folder inside the work dir", dir)
	}
	root, err := parent.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("the downloads folder %s cannot be opened: %w", dir, err)
	}
	after, err := root.Stat(".")
	if err != nil || !os.SameFile(before, after) {
		root.Close()
		return nil, fmt.Errorf("the downloads folder %s changed while it was opened (a link was swapped in); the download was refused", dir)
	}
	return root, nil
}

// reserveName picks a file name in the downloads folder that neither exists
// nor was promised to another download; the caller holds mu.
func (c *chrome) reserveName(root *os.Root, name string) string {
	name = filepath.Base(strings.TrimSpace(strings.ReplaceAll(name, "\\", "/")))
	if name == "" || name == "." || name == ".." || name == "/" {
		name = "download"
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; ; i++ {
		cand := name
		if i > 0 {
			cand = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(c.downloadDir(), cand)
		if _, err := root.Lstat(cand); err == nil || c.reserved[p] {
			continue
		}
		c.reserved[p] = true
		return p
	}
}

// beginDownload records a download Chrome starts; it runs in the browser's
// event loop, so it only checks the folder and records.
func (c *chrome) beginDownload(rootCtx context.Context, ev *cdpbrowser.EventDownloadWillBegin) {
	d := &download{guid: ev.GUID, url: ev.URL, name: ev.SuggestedFilename, done: make(chan struct{})}
	if c.staging != "" {
		root, err := c.downloadsFolder()
		if err != nil {
			d.refused = err
			go func() {
				_, _ = chromedp.CallBrowser(rootCtx, cdpbrowser.CancelDownload, cdpbrowser.CancelDownloadParams{GUID: ev.GUID})
			}()
		} else {
			c.mu.Lock()
			d.final = c.reserveName(root, ev.SuggestedFilename)
			c.mu.Unlock()
			root.Close()
		}
	}
	c.mu.Lock()
	c.downloads[ev.GUID] = d
	c.newDL = append(c.newDL, d)
	trackers := c.trackers
	c.mu.Unlock()
	for _, t := range trackers {
		t.dropURL(ev.URL)
	}
}

// progressDownload follows a download; a finished, approved one is placed.
func (c *chrome) progressDownload(ev *cdpbrowser.EventDownloadProgress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.downloads[ev.GUID]
	if d == nil {
		return
	}
	d.received = ev.ReceivedBytes
	if d.state == cdpbrowser.DownloadProgressStateCompleted || d.state == cdpbrowser.DownloadProgressStateCanceled {
		return
	}
	d.state = ev.State
	switch ev.State {
	case cdpbrowser.DownloadProgressStateCompleted:
		if d.approved {
			go func() {
				c.place(d)
				close(d.done)
			}()
			return
		}
		close(d.done)
	case cdpbrowser.DownloadProgressStateCanceled:
		close(d.done)
	}
}

// place moves a finished download from the staging folder into the
// downloads folder.
func (c *chrome) place(d *download) {
	err := c.placeFile(d)
	c.mu.Lock()
	d.placed, d.placeErr = err == nil, err
	c.mu.Unlock()
}

func (c *chrome) placeFile(d *download) error {
	src := filepath.Join(c.staging, d.guid)
	defer os.Remove(src)
	root, err := c.downloadsFolder()
	if err != nil {
		return err
	}
	defer root.Close()
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("read the downloaded file: %w", err)
	}
	defer in.Close()
	// O_EXCL: a link or file planted at the name meanwhile is not written
	// through.
	out, err := root.OpenFile(filepath.Base(d.final), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", d.final, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		_ = root.Remove(filepath.Base(d.final))
		return fmt.Errorf("write %s: %w", d.final, err)
	}
	return out.Close()
}

// downloadEventWait bounds the wait for the browser to report a download
// after a navigation turned into one.
const downloadEventWait = 3 * time.Second

// awaitDownload waits, after an action whose navigation ended without a
// page (it became a download), for the browser to report the download, so
// the action's result can say where it went. The browser's event comes on
// its own connection and can trail the page's.
func (c *chrome) awaitDownload(ctx context.Context, tb *tab) {
	u := tb.track.takeAborted()
	tb.mu.Lock()
	expect := tb.expectDownload
	tb.expectDownload = false
	tb.mu.Unlock()
	if u == "" && !expect {
		return
	}
	deadline := time.Now().Add(downloadEventWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		c.mu.Lock()
		seen := len(c.newDL) > 0
		for _, d := range c.downloads {
			seen = seen || d.url == u
		}
		c.mu.Unlock()
		if seen {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finishDownloads asks for approval of the downloads that began during the
// last action, naming where each would land, waits for them within the cap
// and says where they landed.
func (c *chrome) finishDownloads(ctx context.Context, approver agent.Approver) ([]string, error) {
	c.mu.Lock()
	dls := c.newDL
	c.newDL = nil
	c.mu.Unlock()
	var notes []string
	for _, d := range dls {
		if c.staging == "" {
			notes = append(notes, fmt.Sprintf("The page tried to download %s; downloads are disabled in this session.", d.name))
			continue
		}
		if d.refused != nil {
			notes = append(notes, fmt.Sprintf("The download of %s did not happen: %v.", d.name, d.refused))
			continue
		}
		dec, err := agent.Approve(ctx, approver, agent.ApprovalRequest{
			Agent: agent.WebSurferName, Kind: agent.ApproveBrowser,
			Action: fmt.Sprintf("download %s to %s", d.name, d.final), Detail: d.url,
		})
		if err != nil {
			return notes, fmt.Errorf("approve download: %w", err)
		}
		if !dec.Approved {
			cctx, cancel := withStop(ctx, c.rootCtx)
			_, _ = chromedp.CallBrowser(cctx, cdpbrowser.CancelDownload, cdpbrowser.CancelDownloadParams{GUID: d.guid})
			cancel()
			select {
			case <-d.done:
			case <-time.After(2 * time.Second):
			}
			_ = os.Remove(filepath.Join(c.staging, d.guid))
			notes = append(notes, fmt.Sprintf("The download of %s was refused by the user%s.", d.name, reason(dec)))
			continue
		}
		c.mu.Lock()
		d.approved = true
		finished := d.state == cdpbrowser.DownloadProgressStateCompleted
		c.mu.Unlock()
		if finished {
			c.place(d)
		}
		timer := time.NewTimer(c.opts.SettleTimeout)
		select {
		case <-d.done:
			timer.Stop()
			c.mu.Lock()
			st, placed, perr := d.state, d.placed, d.placeErr
			c.mu.Unlock()
			switch {
			case st == cdpbrowser.DownloadProgressStateCanceled:
				notes = append(notes, fmt.Sprintf("The download of %s was cancelled.", d.name))
			case !placed:
				notes = append(notes, fmt.Sprintf("The download of %s was not saved: %v.", d.name, perr))
			default:
				size := ""
				if fi, err := os.Lstat(d.final); err == nil {
					size = fmt.Sprintf(" (%d bytes)", fi.Size())
				}
				notes = append(notes, fmt.Sprintf("Downloaded %s to %s%s.", d.name, d.final, size))
			}
		case <-timer.C:
			notes = append(notes, fmt.Sprintf("The download of %s is still running; it will be saved to %s.", d.name, d.final))
		case <-ctx.Done():
			timer.Stop()
			return notes, ctx.Err()
		}
	}
	return notes, nil
}

func reason(d agent.Decision) string {
	if d.Reason == "" {
		return ""
	}
	return ": " + d.Reason
}
