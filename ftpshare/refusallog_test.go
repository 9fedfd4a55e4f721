package ftpshare

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// countingWriter counts the log lines written to it.
type countingWriter struct {
	mu    sync.Mutex
	lines []string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, string(p))
	return len(p), nil
}

// TestRefusalLogBounded: a client sending unknown commands (3 bytes
// each), before login and after, and failing CWDs, gets every one
// answered but logs at most maxRefusalLines of them, plus one saying
// the rest are not logged.
func TestRefusalLogBounded(t *testing.T) {
	logs := &countingWriter{}
	_, addr := start(t, openView(t), Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}, "127.0.0.1")
	c := dial(t, addr)
	for range 100 {
		c.expect(500, "X")
	}
	c.login()
	for range 100 {
		c.expect(550, "CWD /no-such-folder")
	}
	c.expect(200, "NOOP") // every refusal above was answered before this
	logs.mu.Lock()
	defer logs.mu.Unlock()
	var refusals, note int
	for _, l := range logs.lines {
		if strings.Contains(l, "status=500") || strings.Contains(l, "status=550") {
			refusals++
		}
		if strings.Contains(l, "more refusals on this connection are not logged") {
			note++
		}
	}
	if refusals != maxRefusalLines+1 || note != 1 {
		t.Errorf("200 refusals logged %d lines (%d saying the rest are not), want %d and 1", refusals, note, maxRefusalLines+1)
	}
}
