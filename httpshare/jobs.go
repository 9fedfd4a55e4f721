package httpshare

import (
	"context"
	"fmt"
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
// Retry-After, in the words of every error answer.
func (s *Server) serveBusy(w http.ResponseWriter, r *http.Request, why error) {
	w.Header().Set("Retry-After", strconv.Itoa(folderJobRetry))
	say := fmt.Sprintf("The server is busy making other archives and checksums (%s). Try again in %d seconds.", strings.TrimSuffix(why.Error(), "."), folderJobRetry)
	s.sayError(w, r, http.StatusServiceUnavailable, errorMsg{"503 " + say + "\n", "Server busy", say})
}
