package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"example.com/share/internal/transfers"
)

// Live view: how often it may redraw, and how many transfers it lists.
const (
	liveEvery = 250 * time.Millisecond
	liveRows  = 8
	livePath  = 36 // runes of a path shown
	// liveWidth keeps each line within an 80-column terminal: a line
	// that wrapped would upset the erasing of the next drawing.
	liveWidth = 79
)

// liveView draws the transfers in flight under the banner while share
// runs, and a one-line summary when it stops. It draws only on a
// terminal, and never with --quiet or --log-format json.
type liveView struct {
	board *transfers.Board
	out   io.Writer

	mu    sync.Mutex
	lines int // lines of the last drawing, erased before the next
	rates map[*transfers.Transfer]rate
	stop  chan struct{}
	done  chan struct{}
}

// rate holds the recent samples of a transfer; its speed is measured
// over them, as sendfile moves bytes in lumps of a MiB or more.
type rate struct {
	sent []int64
	at   []time.Time
}

// rateWindow is how many samples the speed is measured over (3 s).
const rateWindow = 12

// perSec is the speed over the samples kept.
func (r rate) perSec() float64 {
	n := len(r.at)
	if n < 2 {
		return 0
	}
	dt := r.at[n-1].Sub(r.at[0]).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(r.sent[n-1]-r.sent[0]) / dt
}

// newLiveView returns the live view, or nil when none is to be drawn.
func newLiveView(c *cli.Context) *liveView {
	if c.Bool("quiet") || c.String("log-format") != "text" || !isTerminal(c.App.Writer) {
		return nil
	}
	return &liveView{
		board: transfers.New(),
		out:   c.App.Writer,
		rates: map[*transfers.Transfer]rate{},
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// isTerminal reports whether w is a terminal other than a dumb one
// (/dev/null is a character device too, and no terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && os.Getenv("TERM") != "dumb" && term.IsTerminal(int(f.Fd()))
}

// Board is what the servers report to; nil when there is no live view.
func (v *liveView) Board() *transfers.Board {
	if v == nil {
		return nil
	}
	return v.board
}

// logWriter wraps the log's writer: when the log goes to the same
// terminal, each line is written above the live view, not through it.
func (v *liveView) logWriter(w io.Writer) io.Writer {
	if v == nil || !isTerminal(w) {
		return w
	}
	return liveLog{v, w}
}

type liveLog struct {
	v *liveView
	w io.Writer
}

func (l liveLog) Write(p []byte) (int, error) {
	l.v.mu.Lock()
	defer l.v.mu.Unlock()
	l.v.erase()
	n, err := l.w.Write(p)
	l.v.draw()
	return n, err
}

// run redraws until Stop.
func (v *liveView) run() {
	if v == nil {
		return
	}
	go func() {
		defer close(v.done)
		tick := time.NewTicker(liveEvery)
		defer tick.Stop()
		for {
			select {
			case <-v.stop:
				return
			case <-tick.C:
				v.mu.Lock()
				v.erase()
				v.draw()
				v.mu.Unlock()
			}
		}
	}()
}

// Stop erases the view and prints the summary line.
func (v *liveView) Stop() {
	if v == nil {
		return
	}
	close(v.stop)
	<-v.done
	v.mu.Lock()
	defer v.mu.Unlock()
	v.erase()
	fmt.Fprintln(v.out, summary(v.board.Totals()))
}

// erase removes the last drawing: up its lines, then clear to the end.
func (v *liveView) erase() {
	if v.lines > 0 {
		fmt.Fprintf(v.out, "\x1b[%dF\x1b[J", v.lines)
		v.lines = 0
	}
}

// draw writes one line per transfer in flight.
func (v *liveView) draw() {
	active := v.board.Active()
	now := time.Now()
	seen := make(map[*transfers.Transfer]rate, len(active))
	var b strings.Builder
	for i, t := range active {
		r := v.sample(t, now)
		seen[t] = r
		if i == liveRows {
			fmt.Fprintf(&b, "  … and %d more\n", len(active)-liveRows)
			break
		}
		b.WriteString(transferLine(t, r))
	}
	v.rates = seen
	if b.Len() == 0 {
		return
	}
	io.WriteString(v.out, b.String())
	v.lines = strings.Count(b.String(), "\n")
}

// sample adds a sample of t to its rate.
func (v *liveView) sample(t *transfers.Transfer, now time.Time) rate {
	r, ok := v.rates[t]
	if !ok {
		r = rate{sent: []int64{0}, at: []time.Time{t.Start}}
	}
	r.sent, r.at = append(r.sent, t.Sent()), append(r.at, now)
	if len(r.at) > rateWindow {
		r.sent, r.at = r.sent[1:], r.at[1:]
	}
	return r
}

// transferLine is one transfer: who, what, how far, how fast.
func transferLine(t *transfers.Transfer, r rate) string {
	done := byteSize(t.Sent())
	if t.Size > 0 {
		done = fmt.Sprintf("%3d%%", min(100, t.Sent()*100/t.Size))
	}
	line := fmt.Sprintf("  %-4s %-15s %-*s %6s %10s/s", strings.ToUpper(t.Proto), t.Client, livePath, shorten(t.Path, livePath), done, byteSize(int64(r.perSec())))
	if utf8.RuneCountInString(line) > liveWidth {
		line = string([]rune(line)[:liveWidth])
	}
	return line + "\n"
}

// shorten keeps the end of a path, the part that names the file.
func shorten(p string, n int) string {
	if utf8.RuneCountInString(p) <= n {
		return p
	}
	r := []rune(p)
	return "…" + string(r[len(r)-n+1:])
}

// summary is the line printed when share stops.
func summary(t transfers.Totals) string {
	if t.Files == 0 && t.Cut == 0 {
		return "Stopped. Nothing was downloaded."
	}
	cut := ""
	if t.Cut > 0 {
		cut = fmt.Sprintf(", %d cut short", t.Cut)
	}
	return fmt.Sprintf("Stopped. %s served%s (%s) to %s.", count(t.Files, "file"), cut, byteSize(t.Bytes), count(int64(t.Clients), "client"))
}

func count(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// byteSize shows a byte count in binary units.
func byteSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, 0
	for v >= 1024 && unit < 4 {
		v /= 1024
		unit++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[unit])
}
