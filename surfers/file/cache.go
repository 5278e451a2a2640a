package file

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/m1-project/m1/surfers/file/convert"
)

// cache keeps each file's conversion for the session, keyed by path,
// file identity (device and inode), modification time and size, so paging
// and reopening do not convert again while a changed or replaced file is.
type cache struct {
	opts []convert.Option
	mu   sync.Mutex
	docs map[cacheKey]cached
	// conversions counts real conversions, for tests.
	conversions int
}

type cacheKey struct {
	path     string
	dev, ino uint64
	mtime    time.Time
	size     int64
}

type cached struct {
	doc *convert.Document
	err error
}

// maxCached bounds the cache. A session opens a few dozen files, so when
// the bound is hit the cache simply starts over.
const maxCached = 256

func newCache(opts []convert.Option) *cache {
	return &cache{opts: opts, docs: map[cacheKey]cached{}}
}

// convert returns the cached conversion of the open file f, known to the
// model as path, or converts it. st is f's own Stat.
func (c *cache) convert(ctx context.Context, f *os.File, path string, st os.FileInfo) (*convert.Document, error) {
	key := cacheKey{path: path, mtime: st.ModTime(), size: st.Size()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		key.dev, key.ino = uint64(sys.Dev), sys.Ino
	}
	c.mu.Lock()
	if e, ok := c.docs[key]; ok {
		c.mu.Unlock()
		return e.doc, e.err
	}
	c.mu.Unlock()
	doc, err := convert.ConvertFile(ctx, f, c.opts...)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if doc == nil && err == nil {
		err = fmt.Errorf("convert %s: no result", path)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conversions++
	if doc != nil {
		if len(c.docs) >= maxCached {
			c.docs = map[cacheKey]cached{}
		}
		c.docs[key] = cached{doc: doc, err: err}
	}
	return doc, err
}
