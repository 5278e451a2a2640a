package session

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
)

// saver writes a session's checkpoint and summary in the background, so a
// turn does not wait for the disk. Each file is written whole to a
// temporary file, synced and renamed into place; when a newer version of a
// file arrives before the older one was written, only the newer one is.
// close writes what is pending.
type saver struct {
	mu      sync.Mutex
	pending map[string][]byte
	err     error // the first write error not yet reported
	closed  bool

	writing sync.Mutex // one flush at a time, so files are written in order
	wake    chan struct{}
	done    chan struct{}
}

func newSaver() *saver {
	s := &saver{pending: map[string][]byte{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for range s.wake {
			s.flush()
		}
	}()
	return s
}

// save queues data for path. It returns the error of an earlier write
// that failed, once.
func (s *saver) save(path string, data []byte) error {
	s.mu.Lock()
	s.pending[path] = data
	err, closed := s.err, s.closed
	s.err = nil
	s.mu.Unlock()
	if closed {
		s.flush()
		return s.takeErr(err)
	}
	select {
	case s.wake <- struct{}{}:
	default: // a flush is already due; it will take this too
	}
	return err
}

// flush writes everything pending now.
func (s *saver) flush() {
	s.writing.Lock()
	defer s.writing.Unlock()
	s.mu.Lock()
	batch := s.pending
	s.pending = map[string][]byte{}
	s.mu.Unlock()
	for path, data := range batch {
		if err := writeFile(path, data); err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
		}
	}
}

func (s *saver) takeErr(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		err = s.err
	}
	s.err = nil
	return err
}

// close writes what is pending, stops the writer and returns any write
// error not yet reported. Later saves are written at once.
func (s *saver) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.wake)
	<-s.done
	s.flush()
	return s.takeErr(nil)
}

// writeJSON writes v to path now, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

// writeFile replaces path with data atomically and durably: a reader sees
// the old file or the new one, never a part.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
