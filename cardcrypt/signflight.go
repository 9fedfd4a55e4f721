package cardcrypt

import "sync"

// flights merges signature requests for one version: while one request
// hashes and signs it, the others wait for its result instead of taking
// queue places and card operations of their own.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one version's signing in progress.
type flight struct {
	done chan struct{}
	sig  []byte
	err  error
}

// join returns version's flight, and whether the caller is its first
// and so the one to sign (and then call land).
func (f *flights) join(version string) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.m[version]; ok {
		return c, false
	}
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	c := &flight{done: make(chan struct{})}
	f.m[version] = c
	return c, true
}

// land gives c's result to its waiters and ends it.
func (f *flights) land(version string, c *flight, sig []byte, err error) {
	f.mu.Lock()
	delete(f.m, version)
	f.mu.Unlock()
	c.sig, c.err = sig, err
	close(c.done)
}
