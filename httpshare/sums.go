package httpshare

import (
	"bufio"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/share/sharefs"
)

// sumCache remembers SHA-256 digests of files by view path, valid while the
// file keeps its size, modification time and identity (device and inode),
// so that asking again for a folder's sums hashes only what changed. It
// holds at most a fixed number of digests, dropping the least recently
// used. It is safe for concurrent use.
type sumCache struct {
	mu    sync.Mutex
	max   int
	order *list.List               // of *sumItem, most recently used first
	items map[string]*list.Element // by view path

	hashed atomic.Int64 // files hashed (cache misses)
	reused atomic.Int64 // digests served from the cache
}

// sumItem is one cached digest.
type sumItem struct {
	path   string
	stamp  sharefs.Version
	digest [sha256.Size]byte
}

// newSumCache makes a cache of at most maxEntries digests (at least one).
func newSumCache(maxEntries int) *sumCache {
	return &sumCache{
		max:   max(maxEntries, 1),
		order: list.New(),
		items: make(map[string]*list.Element),
	}
}

// lookup returns the cached digest of path if its stamp still matches.
func (c *sumCache) lookup(path string, st sharefs.Version) ([sha256.Size]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[path]
	if !ok {
		return [sha256.Size]byte{}, false
	}
	item := el.Value.(*sumItem)
	if item.stamp != st {
		return [sha256.Size]byte{}, false
	}
	c.order.MoveToFront(el)
	return item.digest, true
}

// store caches the digest of path, replacing an older one and evicting the
// least recently used digests beyond the bound.
func (c *sumCache) store(path string, st sharefs.Version, digest [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[path]; ok {
		el.Value = &sumItem{path, st, digest}
		c.order.MoveToFront(el)
		return
	}
	c.items[path] = c.order.PushFront(&sumItem{path, st, digest})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*sumItem).path)
	}
}

// len reports how many digests the cache holds.
func (c *sumCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// digest returns the SHA-256 of file src of view, listed as e, from the
// cache when the file has not changed.
func (c *sumCache) digest(ctx context.Context, view sharefs.View, src string, e sharefs.Entry, buf []byte) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	st := e.Version
	if d, ok := c.lookup(src, st); ok {
		c.reused.Add(1)
		return d, nil
	}
	f, err := view.Open(src)
	if err != nil {
		return sum, fmt.Errorf("open %q: %w", src, errLeftOut)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := copyFile(ctx, h, f, src, -1, buf); err != nil {
		return sum, err
	}
	c.hashed.Add(1)
	h.Sum(sum[:0])
	// Cache only if the file did not change while it was read; otherwise
	// the digest may mix old and new bytes under the old stamp.
	if after, err := view.Stat(src); err == nil && after.Version == st {
		c.store(src, st, sum)
	}
	return sum, nil
}

// errLeftOut marks a file that cannot be opened: sums leave it out.
var errLeftOut = errors.New("cannot be opened")

// writeSums writes one "HEX  path" line for every file below folder dir of
// view, recursively and in the view's order, with paths relative to dir:
// the format `sha256sum -c` checks, run in a copy of the folder. Names with
// a backslash, newline or carriage return are escaped the way sha256sum
// itself writes them: a backslash starts the line and the name has \\, \n
// and \r in their place.
func (c *sumCache) writeSums(ctx context.Context, w io.Writer, view sharefs.View, dir string) error {
	bw := bufio.NewWriter(w)
	buf := make([]byte, copyBufSize)
	sent := time.Now()
	err := sharefs.Walk(ctx, view, dir, func(rel string, e sharefs.Entry) error {
		if e.IsDir {
			return nil
		}
		d, err := c.digest(ctx, view, sharefs.Join(dir, rel), e, buf)
		if errors.Is(err, errLeftOut) {
			return nil // unreadable, or gone since the listing
		}
		if err != nil {
			return err
		}
		if _, err := bw.WriteString(sumLine(d[:], rel)); err != nil {
			return fmt.Errorf("write sums: %w", err)
		}
		if time.Since(sent) >= sumsFlushEvery {
			sent = time.Now()
			return flushSums(bw, w)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write sums: %w", err)
	}
	return nil
}

// sumsFlushEvery is how long lines of sums may wait in buffers: hashing
// big files, the client still hears of progress.
const sumsFlushEvery = time.Second

// flushSums sends the lines buffered so far, through w's own buffer too
// when it has one that flushes (the response's).
func flushSums(bw *bufio.Writer, w io.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write sums: %w", err)
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// sumEscaper escapes names the way sha256sum does.
var sumEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)

// sumLine formats one line of a SHA256SUMS file.
func sumLine(digest []byte, name string) string {
	line := hex.EncodeToString(digest) + "  "
	if strings.ContainsAny(name, "\\\n\r") {
		return `\` + line + sumEscaper.Replace(name) + "\n"
	}
	return line + name + "\n"
}
