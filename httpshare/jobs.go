package httpshare

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/share/internal/connlimit"
)

// Folder jobs (?zip, ?tar.gz, ?sha256) each read a whole tree, so few
// run at once and one client may hold only part of them: a client that
// never reads its archives can then not keep everyone else waiting.
const (
	maxFolderJobs       = 4
	maxFolderJobsClient = 2
	// folderJobWait is how long a request waits for a free slot before
	// it is told the server is busy.
	folderJobWait = 2 * time.Second
	// folderJobRetry is the Retry-After of that answer, in seconds.
	folderJobRetry = 5
)

// folderSlots hands out the folder job slots: at most total at once, and
// a client's share (connlimit counts clients as the connection caps do).
type folderSlots struct {
	caps *connlimit.Limiter
	wait time.Duration

	mu    sync.Mutex
	freed chan struct{} // closed, and replaced, whenever a slot is given back
}

func newFolderSlots(total, perClient int, wait time.Duration) *folderSlots {
	return &folderSlots{caps: connlimit.New(total, perClient), wait: wait, freed: make(chan struct{})}
}

// acquire takes a slot for client, waiting at most the slots' wait for
// one to be given back. It returns the function that gives the slot back,
// or why there was none: a connlimit.Refusal, or ctx's error.
func (s *folderSlots) acquire(ctx context.Context, client netip.Addr) (func(), error) {
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		release, err := s.caps.Take(client)
		freed := s.freed
		s.mu.Unlock()
		if err == nil {
			return sync.OnceFunc(func() { release(); s.signal() }), nil
		}
		select {
		case <-freed:
		case <-timer.C:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// signal wakes every waiter to try again.
func (s *folderSlots) signal() {
	s.mu.Lock()
	close(s.freed)
	s.freed = make(chan struct{})
	s.mu.Unlock()
}

// serveBusy answers a folder job that found no free slot: 503 with
// Retry-After, a short page in the listing's style for a browser, one
// line of text for anything else.
func serveBusy(w http.ResponseWriter, r *http.Request, dir string, why error) {
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(folderJobRetry))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	msg := fmt.Sprintf("The server is busy making other archives and checksums (%s). Try again in %d seconds.", strings.TrimSuffix(why.Error(), "."), folderJobRetry)
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "503 %s\n", msg)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"+
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"color-scheme\" content=\"light dark\">"+
		"<link rel=\"icon\" href=\"data:,\"><title>Server busy</title><style>%s</style></head>\n<body><main>"+
		"<p class=\"busy\">%s</p><p><a href=\"%s\">Back to the folder</a></p></main></body></html>\n",
		pageCSS, html.EscapeString(msg), html.EscapeString(folderURL(dir)))
}
