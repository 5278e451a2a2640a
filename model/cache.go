package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	openai "github.com/sashabaranov/go-openai"
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

const cacheVersion = 1

// cacheKey hashes the request body as it would be sent without streaming:
// model, messages, tools, tool choice and response format. The API key is
// not part of the body, so it never reaches the key or the file.
func cacheKey(creq openai.ChatCompletionRequest) string {
	creq.Stream = false
	creq.StreamOptions = nil
	b, err := json.Marshal(creq)
	if err != nil {
		// Every field is plain data; this cannot happen for a request the
		// server could have been sent either.
		panic(fmt.Sprintf("cache key: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
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
	e.Response.Cached = true
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
