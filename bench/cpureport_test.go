package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// cpuTable is one comparison's results: a row per measure, a column per
// server, each cell the samples of the rounds.
type cpuTable struct {
	title   string
	servers []string // share first: the ratios are share/peer
	rows    []*cpuRow
	notes   []string
	load    string // load average when the comparison started
	start   time.Time
}

// cpuRow is one measure.
type cpuRow struct {
	metric  string // unit of b.ReportMetric, without spaces
	name    string // as the table shows it
	format  string // of one value
	samples map[string][]float64
	targets []cpuTarget
}

// cpuTarget is one goal of issue 14: share/peer at least (or at most) ratio.
type cpuTarget struct {
	peer   string
	atMost bool
	ratio  float64
}

func atLeast(peer string, ratio float64) cpuTarget { return cpuTarget{peer: peer, ratio: ratio} }
func atMost(peer string, ratio float64) cpuTarget {
	return cpuTarget{peer: peer, atMost: true, ratio: ratio}
}

func newCPUTable(title string, servers []*cpuServer) *cpuTable {
	t := &cpuTable{title: title, load: loadAvg(), start: time.Now()}
	for _, s := range servers {
		t.servers = append(t.servers, s.name)
	}
	return t
}

// row adds a measure; metric names it for benchstat ("MB/s", "cpu-s/GiB").
func (t *cpuTable) row(metric, name, format string, targets ...cpuTarget) *cpuRow {
	r := &cpuRow{metric: metric, name: name, format: format, samples: map[string][]float64{}, targets: targets}
	t.rows = append(t.rows, r)
	return r
}

func (r *cpuRow) add(server string, v float64) { r.samples[server] = append(r.samples[server], v) }

func (t *cpuTable) note(s string) { t.notes = append(t.notes, s) }

// median of v, and whether there was any.
func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// cell is "median (min–max)", or "n/a".
func (r *cpuRow) cell(server string) string {
	v := r.samples[server]
	m, ok := median(v)
	if !ok {
		return "n/a"
	}
	f := r.format
	return fmt.Sprintf(f+" ("+f+"–"+f+")", m, slices.Min(v), slices.Max(v))
}

// ratio is median(share)/median(peer).
func (r *cpuRow) ratio(peer string) (float64, bool) {
	a, ok1 := median(r.samples["share"])
	p, ok2 := median(r.samples[peer])
	if !ok1 || !ok2 || p == 0 {
		return 0, false
	}
	return a / p, true
}

func (r *cpuRow) verdict() (target, verdict string) {
	var ts, vs []string
	for _, g := range r.targets {
		op := "≥"
		if g.atMost {
			op = "≤"
		}
		ts = append(ts, fmt.Sprintf("%s %.2fx %s", op, g.ratio, g.peer))
		got, ok := r.ratio(g.peer)
		switch {
		case !ok:
			vs = append(vs, "n/a")
		case g.atMost && got <= g.ratio, !g.atMost && got >= g.ratio:
			vs = append(vs, "met")
		default:
			vs = append(vs, "**missed**")
		}
		if len(r.targets) > 1 {
			vs[len(vs)-1] += " (" + g.peer + ")"
		}
	}
	return strings.Join(ts, ", "), strings.Join(vs, ", ")
}

// finish reports each median as a metric and keeps the table for the
// Markdown report.
func (t *cpuTable) finish(b *testing.B) {
	b.Helper()
	for _, r := range t.rows {
		for _, s := range t.servers {
			if m, ok := median(r.samples[s]); ok {
				b.ReportMetric(m, strings.ReplaceAll(s, " ", "_")+"-"+r.metric)
			}
		}
	}
	cpuReport.Lock()
	defer cpuReport.Unlock()
	cpuReport.tables = append(cpuReport.tables, t.markdown(time.Since(t.start)))
}

func (t *cpuTable) markdown(took time.Duration) string {
	var w strings.Builder
	rounds := 0
	if len(t.rows) > 0 {
		rounds = len(t.rows[0].samples["share"])
	}
	fmt.Fprintf(&w, "### %s\n\n", t.title)
	fmt.Fprintf(&w, "%d interleaved rounds (the order rotates each round), %s; load average %s at the start, %s at the end. Each cell: median (min–max) of the rounds; ratios of the medians.\n\n",
		rounds, took.Round(time.Second), t.load, loadAvg())
	peers := t.servers[1:]
	head := append([]string{"measure"}, t.servers...)
	for _, p := range peers {
		head = append(head, "share/"+p)
	}
	head = append(head, "target", "verdict")
	fmt.Fprintf(&w, "| %s |\n|", strings.Join(head, " | "))
	w.WriteString(" --- |")
	for range len(t.servers) + len(peers) {
		w.WriteString(" ---: |")
	}
	w.WriteString(" --- | --- |\n")
	for _, r := range t.rows {
		cells := []string{r.name}
		for _, s := range t.servers {
			cells = append(cells, r.cell(s))
		}
		for _, p := range peers {
			if x, ok := r.ratio(p); ok {
				cells = append(cells, fmt.Sprintf("%.2fx", x))
			} else {
				cells = append(cells, "n/a")
			}
		}
		target, verdict := r.verdict()
		cells = append(cells, target, verdict)
		fmt.Fprintf(&w, "| %s |\n", strings.Join(cells, " | "))
	}
	w.WriteString("\n")
	for _, n := range t.notes {
		fmt.Fprintf(&w, "- %s\n", n)
	}
	return w.String()
}

// cpuReport holds the tables of the benchmarks that ran, for TestMain.
var cpuReport struct {
	sync.Mutex
	tables []string
	knobs  cpuKnobs // of the last benchmark: the same for all in one run
}

// writeCPUReport writes the tables, under a header saying where and how
// they were measured, to the file BENCH_MARKDOWN names, or to stdout.
func writeCPUReport() error {
	cpuReport.Lock()
	defer cpuReport.Unlock()
	if len(cpuReport.tables) == 0 {
		return nil
	}
	text := cpuHeader() + strings.Join(cpuReport.tables, "\n")
	if name := os.Getenv("BENCH_MARKDOWN"); name != "" {
		return os.WriteFile(name, []byte(text), 0o644)
	}
	_, err := os.Stdout.WriteString("\n" + text)
	return err
}

func cpuHeader() string {
	model := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(info)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	share := "binary " + os.Getenv("SHARE_BIN")
	if os.Getenv("SHARE_BIN") == "" {
		out, _ := exec.Command("git", "describe", "--always", "--dirty").Output()
		share = "work tree at " + strings.TrimSpace(string(out))
	}
	var w strings.Builder
	fmt.Fprintf(&w, "## CPU per byte (issue 14) — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&w, "- machine: %d CPUs (%s), shared by the clients, the servers and anything else running; %s\n", runtime.NumCPU(), model, runtime.Version())
	fmt.Fprintf(&w, "- share: %s\n", share)
	w.WriteString("- all traffic on 127.0.0.1, files on tmpfs; clients: curl (downloads, one at a time), wrk (HTTP 4 KiB), 4 FTP sessions in Go (FTP 4 KiB: EPSV and RETR per file)\n")
	w.WriteString("- server CPU: utime+stime of every process in the server's tree (all threads), plus cutime+cstime (children that exited and were reaped), from /proc/PID/stat before and after each measure, with the tree back at rest; in 10 ms ticks\n")
	k := cpuReport.knobs
	fmt.Fprintf(&w, "- settings: BENCH_ROUNDS=%d BENCH_DOWNLOADS=%d BENCH_DURATION=%s BENCH_FTP_REQUESTS=%d\n\n",
		k.rounds, k.downloads, k.duration, k.ftpSmall)
	return w.String()
}
