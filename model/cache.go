package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/m1-project/m1/agent"
)

// cache keeps responses on disk, one JSON file per request, as AutoGen's
// ChatCompletionCache does: a rerun of the same requests costs nothing.
type cache struct{ dir string }

// cacheEntry is the file format; Version changes when it does.
type cacheEntry struct {
	Version  int       `json:"version"`
	Model    string    `json:"model"`
	Response *Response `json:"response"`
}

const cacheVersion = 2

// cacheKey hashes the request body as it would be sent without streaming:
// model, messages, tools, tool choice, response format, cap and settings.
// The API key is not part of the body, so it never reaches the key or the
// file.
func cacheKey(w *wireRequest) (string, error) {
	c := *w
	c.Stream, c.StreamOptions = false, nil
	b, err := c.body()
	if err != nil {
		return "", fmt.Errorf("cache key: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func (c *cache) path(key string) string { return filepath.Join(c.dir, key+".json") }

// get returns the cached response for key; an unreadable entry is a miss.
func (c *cache) get(key string) (*Response, bool) {
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil || e.Version != cacheVersion || e.Response == nil {
		return nil, false
	}
	// A reply from the cache spent nothing.
	e.Response.Cached = true
	e.Response.Usage = agent.Usage{}
	return e.Response, true
}

// put stores resp under key atomically: concurrent runs sharing a cache
// see a whole entry or none.
func (c *cache) put(key string, resp *Response) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	b, err := json.Marshal(cacheEntry{Version: cacheVersion, Response: resp})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	f, err := os.CreateTemp(c.dir, key+".*.tmp")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cache: write %s: %w", f.Name(), errors.Join(werr, cerr))
	}
	if err := os.Rename(f.Name(), c.path(key)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}
