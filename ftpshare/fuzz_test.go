package ftpshare

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"example.com/share/sharefs"
)

func TestGlobLimitsAndSyntax(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		limit   bool // over the limits
	}{
		{"*.txt", false},
		{"a?c", false},
		{"[a-c]*", false},
		{"[^a-c]x", false},
		{`\*`, false},
		{"[", false},
		{"[]a]", false},
		{"a\\", false},
		{"[a-", false},
		{"[\xff]", false},
		{"*a*b*c*d", false},
		{"*a*b*c*d*e", true},
		{strings.Repeat("a", maxGlobLen), false},
		{strings.Repeat("a", maxGlobLen+1), true},
		{"[" + strings.Repeat("a-a", maxGlobItems) + "]", false},
		{"[" + strings.Repeat("a-a", maxGlobItems+1) + "]", true},
		{"[ab][" + strings.Repeat("c", maxGlobItems-1) + "]", true},
	} {
		_, err := compileGlob(tc.pattern)
		var limit globLimitError
		if got := errors.As(err, &limit); got != tc.limit {
			t.Errorf("compileGlob(%q) = %v, want a limit error: %v", tc.pattern, err, tc.limit)
		}
		if !tc.limit {
			checkGlob(t, tc.pattern, "abc.txt")
		}
	}
}

func TestGlobBudget(t *testing.T) {
	g, err := compileGlob("*" + strings.Repeat("?", 200))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("n", 199)
	budget := 5000
	if g.match(name, &budget) || budget >= 0 {
		t.Errorf("a match of %d steps ended within a budget of 5000 (left %d)", 200*200/2, budget)
	}
	budget = globBudget
	if g.match(name, &budget) || budget < 0 {
		t.Errorf("a match of about 20,000 steps spent the budget")
	}
}

// FuzzGlob checks that the bounded matcher agrees with path.Match on every
// pattern within the limits, and that a name costs at most its length
// times the pattern's.
func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"*.txt", "notes.txt"},
		{"a*b?c[d-f]", "axxbyce"},
		{"[^a-c]*[\\]x]", "z]"},
		{"*\xc3*", "é"},
		{"?", "\xff"},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaa"},
		{"[", "x"},
		{"*/x", "a/x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(name) > 4096 {
			return
		}
		checkGlob(t, pattern, name)
	})
}

// checkGlob compares compileGlob and match with path.Match.
func checkGlob(t *testing.T, pattern, name string) {
	t.Helper()
	g, err := compileGlob(pattern)
	want, wantErr := path.Match(pattern, name)
	var limit globLimitError
	switch {
	case errors.As(err, &limit):
		return
	case errors.Is(err, errBadGlob) != (wantErr != nil):
		t.Fatalf("compileGlob(%q) = %v; path.Match says %v", pattern, err, wantErr)
	case err != nil:
		return
	}
	budget := globBudget
	got := g.match(name, &budget)
	spent := globBudget - budget
	if most := (len(name) + 2) * (len(pattern) + 2) * (maxGlobItems + 2); spent > most {
		t.Fatalf("match(%q, %q) took %d steps, over %d", pattern, name, spent, most)
	}
	if budget >= 0 && got != want {
		t.Fatalf("match(%q, %q) = %v, path.Match says %v", pattern, name, got, want)
	}
}

// FuzzWatch feeds control-connection bytes in pieces, as the ABOR watcher
// reads them during a transfer, with the session taking lines now and then;
// every ABOR line must be seen exactly once.
func FuzzWatch(f *testing.F) {
	f.Add([]byte("NOOP\r\nABOR\r\nNOOP\r\n"), uint8(3), uint8(2))
	f.Add([]byte("\xff\xf4\xff\xf2ABOR\r\nabor\nSTAT\r\n"), uint8(1), uint8(1))
	f.Add([]byte(strings.Repeat("NOOP\r\n", 100)+"ABOR\r\n"), uint8(64), uint8(7))
	f.Add([]byte(strings.Repeat("x", maxLine+3)+"\nABOR\n"), uint8(50), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, step, takeEvery uint8) {
		if len(data) > 64<<10 {
			return
		}
		n := int(step)%64 + 1
		var b lineBuffer
		seen, want := 0, 0
		for _, l := range completeLines(data) {
			if verb, _ := splitCommand(cleanLine([]byte(l))); verb == "ABOR" && len(l) <= maxLine {
				want++
			}
		}
		for i, round := 0, 0; i < len(data); i, round = i+n, round+1 {
			piece := data[i:min(i+n, len(data))]
			for len(piece) > b.room() {
				// The watcher stops reading here; the session takes lines.
				if _, ok, err := b.next(); err != nil || !ok {
					return
				}
			}
			b.feed(piece)
			for b.hasAbort() {
				seen++
			}
			if takeEvery > 0 && round%int(takeEvery) == 0 {
				if _, _, err := b.next(); err != nil {
					return
				}
			}
			if len(b.buf) > maxBuffered {
				t.Fatalf("buffer holds %d bytes", len(b.buf))
			}
		}
		if seen != want {
			t.Fatalf("saw %d ABOR lines, want %d", seen, want)
		}
	})
}

// FuzzListingLines renders entries with arbitrary names in every listing
// form and checks that each listable one makes exactly one clean line.
func FuzzListingLines(f *testing.F) {
	f.Add("hello.txt", int64(12), false, int64(1_600_000_000))
	f.Add("dir with space", int64(0), true, int64(-1))
	f.Add("tab\there\x1b[31m", int64(-1), false, int64(253_402_300_799))
	f.Add("caf\xc3\xa9 \xf0\x9f\x98\x80", int64(1<<62), false, int64(0))
	f.Add("bad\xffutf8", int64(1), false, int64(1))
	f.Fuzz(func(t *testing.T, name string, size int64, isDir bool, unix int64) {
		e := sharefs.Entry{Name: name, Size: size, IsDir: isDir, ModTime: time.Unix(unix%(1<<40), 0)}
		now := time.Unix(1_700_000_000, 0)
		forms := map[string]renderer{
			"LIST": func(b []byte, e sharefs.Entry) []byte { return appendListLine(b, e, now) },
			"MLSD": appendMLSD,
		}
		for form, render := range forms {
			var out bytes.Buffer
			n, err := writeEntries(&out, []sharefs.Entry{e}, render)
			if err != nil || n != int64(out.Len()) {
				t.Fatalf("%s: wrote %d of %d: %v", form, n, out.Len(), err)
			}
			if !listable(name) {
				if out.Len() != 0 {
					t.Fatalf("%s: unlistable name %q listed", form, name)
				}
				continue
			}
			line := out.String()
			if !strings.HasSuffix(line, " "+name+"\r\n") || strings.Count(line, "\n") != 1 || strings.Count(line, "\r") != 1 {
				t.Fatalf("%s: bad line %q", form, line)
			}
			reply := string(replyLine(render)(nil, e))
			body := strings.TrimSuffix(reply, "\r\n")
			if !strings.HasPrefix(body, " ") || strings.ContainsFunc(body, unicode.IsControl) || !utf8.ValidString(reply) {
				t.Fatalf("%s: bad reply line %q", form, reply)
			}
		}
	})
}

// FuzzPortRange checks --passive-ports parsing: a range it accepts is
// within 1-65535, in order, and reads back the same.
func FuzzPortRange(f *testing.F) {
	for _, seed := range []string{"50000-50100", " 1 - 65535 ", "0-1", "5-4", "-", "1-2-3", "+80-+81", "99999999999999999999-1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		low, high, err := ParsePortRange(s)
		if err != nil {
			return
		}
		if low < 1 || high > 65535 || low > high {
			t.Fatalf("ParsePortRange(%q) = %d, %d", s, low, high)
		}
		if l2, h2, err := ParsePortRange(fmt.Sprintf("%d-%d", low, high)); err != nil || l2 != low || h2 != high {
			t.Fatalf("%d-%d does not read back: %d, %d, %v", low, high, l2, h2, err)
		}
	})
}
