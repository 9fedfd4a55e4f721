package ftpshare

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParsePortRange(t *testing.T) {
	good := map[string][2]int{"50000-50100": {50000, 50100}, " 1-1 ": {1, 1}, "1024 - 65535": {1024, 65535}}
	for in, want := range good {
		low, high, err := ParsePortRange(in)
		if err != nil || low != want[0] || high != want[1] {
			t.Errorf("ParsePortRange(%q) = %d, %d, %v; want %v", in, low, high, err, want)
		}
	}
	bad := map[string]string{
		"":             "want LOW-HIGH",
		"50000":        "want LOW-HIGH",
		"a-b":          "low end",
		"0-10":         "low end",
		"10-70000":     "high end",
		"6000-5000":    "above high end",
		"-5-10":        "low end",
		"50000-50100-": "high end",
	}
	for in, want := range bad {
		if _, _, err := ParsePortRange(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePortRange(%q) error %v, want one saying %q", in, err, want)
		}
	}
}

func TestParsePORTAndEPRT(t *testing.T) {
	ap := netip.MustParseAddrPort
	port := map[string]netip.AddrPort{
		"127,0,0,1,4,1":         ap("127.0.0.1:1025"),
		" 10,1,2,3,255,255 ":    ap("10.1.2.3:65535"),
		"192, 168, 1, 2, 0, 21": ap("192.168.1.2:21"),
	}
	for in, want := range port {
		if got, err := parsePORT(in); err != nil || got != want {
			t.Errorf("parsePORT(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1,2,3,4,5", "1,2,3,4,5,6,7", "256,0,0,1,1,1", "a,b,c,d,e,f", "1,2,3,4,5,-1"} {
		if _, err := parsePORT(in); err == nil {
			t.Errorf("parsePORT(%q) succeeded", in)
		}
	}
	eprt := map[string]netip.AddrPort{
		"|1|127.0.0.1|5000|": ap("127.0.0.1:5000"),
		"|2|::1|5000|":       ap("[::1]:5000"),
		"!2!fe80::1!65535!":  ap("[fe80::1]:65535"),
	}
	for in, want := range eprt {
		if got, err := parseEPRT(in); err != nil || got != want {
			t.Errorf("parseEPRT(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "|", "|1|::1|5000|", "|2|127.0.0.1|5000|", "|1|127.0.0.1|0|",
		"|1|127.0.0.1|70000|", "|1|127.0.0.1|5000", " |1|127.0.0.1|5000| ", "|2|fe80::1%eth0|5000|"} {
		if _, err := parseEPRT(in); err == nil {
			t.Errorf("parseEPRT(%q) succeeded", in)
		}
	}
	if _, err := parseEPRT("|3|1.2.3.4|5000|"); !errors.Is(err, errUnknownFamily) {
		t.Errorf("parseEPRT of family 3: %v", err)
	}
}

func TestListPath(t *testing.T) {
	cases := map[string]string{
		"":                "",
		"-a":              "",
		"-la":             "",
		"-l -a dir":       "dir",
		"  -al  my dir ":  "my dir ",
		"-la -- x":        "-- x",
		"-1x":             "-1x",
		"file":            "file",
		"-a -file-name-1": "-file-name-1",
	}
	for in, want := range cases {
		if got := listPath(in); got != want {
			t.Errorf("listPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLineBuffer(t *testing.T) {
	var b lineBuffer
	b.feed([]byte("USER anonymous\r\nPASS x\nRE"))
	for _, want := range []string{"USER anonymous", "PASS x"} {
		got, ok, err := b.next()
		if !ok || err != nil || got != want {
			t.Fatalf("next = %q, %v, %v; want %q", got, ok, err, want)
		}
	}
	if _, ok, err := b.next(); ok || err != nil || !b.pending() {
		t.Fatal("a partial line was handed out")
	}
	b.feed([]byte("TR \xff\xf4\xff\xf2a\xff\xffb\xff\xfb\x01c\r\n"))
	if got, _, _ := b.next(); got != "RETR a\xffbc" {
		t.Errorf("Telnet bytes not removed: %q", got)
	}
	b.feed([]byte("\xff\xf4\xff\xf2abor\r\n"))
	if !b.hasAbort() {
		t.Error("ABOR after IAC IP IAC DM not seen")
	}
	b.next()
	b.feed(bytes.Repeat([]byte("x"), maxLine+1))
	if _, _, err := b.next(); !errors.Is(err, errLineTooLong) {
		t.Errorf("overlong line: %v", err)
	}
}

// FuzzCommand feeds arbitrary control-connection bytes through the line
// splitter and the argument parsers and checks what they promise.
func FuzzCommand(f *testing.F) {
	for _, seed := range []string{
		"USER anonymous\r\nPASS x\r\n",
		"PORT 127,0,0,1,4,1\r\nEPRT |2|::1|5000|\r\nREST 100\r\n",
		"LIST -la my dir\r\nNLST\nSTAT -a\r\n",
		"\xff\xf4\xff\xf2ABOR\r\n",
		"EPRT !1!10.0.0.1!65535!\r\nPORT 1,2,3,4,5\r\n",
		strings.Repeat("A", maxLine+5) + "\n",
	} {
		f.Add([]byte(seed), uint8(7))
	}
	f.Fuzz(fuzzCommand)
}

func fuzzCommand(t *testing.T, data []byte, step uint8) {
	if len(data) > 32<<10 {
		return // longer inputs only repeat what shorter ones test
	}
	var b lineBuffer
	n := int(step)%64 + 1
	var got []string
	for i := 0; i < len(data); i += n {
		b.feed(data[i:min(i+n, len(data))])
		for {
			line, ok, err := b.next()
			if err != nil {
				if i := bytes.IndexByte(b.buf, '\n'); i <= maxLine && (i >= 0 || len(b.buf) <= maxLine) {
					t.Fatalf("too long reported for a line of %d bytes", i)
				}
				return
			}
			if !ok {
				break
			}
			got = append(got, line)
			checkLine(t, line)
		}
	}
	want := completeLines(data)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != cleanLine([]byte(want[i])) {
			t.Fatalf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// completeLines splits data at LF, dropping the unfinished tail.
func completeLines(data []byte) []string {
	parts := strings.Split(string(data), "\n")
	return parts[:len(parts)-1]
}

// checkLine parses one cleaned line the way the commands do.
func checkLine(t *testing.T, line string) {
	if strings.ContainsRune(line, '\n') || len(line) > maxLine {
		t.Fatalf("bad line %q", line)
	}
	verb, arg := splitCommand(line)
	switch verb {
	case "PORT":
		if ap, err := parsePORT(arg); err == nil {
			a := ap.Addr().As4()
			again := fmt.Sprintf("%d,%d,%d,%d,%d,%d", a[0], a[1], a[2], a[3], ap.Port()>>8, ap.Port()&0xFF)
			if back, err := parsePORT(again); err != nil || back != ap {
				t.Fatalf("PORT %q -> %v does not round-trip", arg, ap)
			}
		}
	case "EPRT":
		if ap, err := parseEPRT(arg); err == nil {
			if ap.Port() == 0 || ap.Addr().Zone() != "" {
				t.Fatalf("EPRT %q -> %v", arg, ap)
			}
			fam := map[bool]string{true: "1", false: "2"}[ap.Addr().Is4()]
			if back, err := parseEPRT("|" + fam + "|" + ap.Addr().String() + "|" + fmt.Sprint(ap.Port()) + "|"); err != nil || back != ap {
				t.Fatalf("EPRT %q -> %v does not round-trip", arg, ap)
			}
		}
	case "REST":
		if n, err := parseRest(arg); err == nil && n < 0 {
			t.Fatalf("REST %q -> %d", arg, n)
		}
	case "LIST", "NLST", "STAT":
		if p := listPath(arg); !strings.HasSuffix(arg, p) {
			t.Fatalf("listPath(%q) = %q is not part of the argument", arg, p)
		}
	}
}
