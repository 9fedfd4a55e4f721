package ftpshare

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"example.com/share/sharefs"
)

func TestLoginAnonymousOnly(t *testing.T) {
	addr := startFixture(t)
	for _, user := range []string{"anonymous", "ftp", "ANONYMOUS"} {
		c := dial(t, addr)
		c.expect(530, "PWD") // nothing before login
		c.expect(331, "USER "+user)
		c.expect(230, "PASS") // any password, even none
		c.expect(257, "PWD")
	}
	c := dial(t, addr)
	c.expect(530, "USER bob")
	c.expect(530, "PASS secret")
	c.expect(530, "LIST")
	c.expect(530, "RETR hello.txt")
}

func TestWriteCommandsRefused(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	for _, cmd := range []string{"STOR new.txt", "APPE hello.txt", "STOU", "DELE hello.txt",
		"RMD sub", "XRMD sub", "MKD newdir", "XMKD newdir", "RNFR hello.txt", "RNTO x.txt",
		"SITE CHMOD 777 hello.txt", "ALLO 100"} {
		dataAddr := c.epsv()
		code, msg := c.send(cmd)
		if code != 550 && code != 502 {
			t.Errorf("%q: got %d %q, want 550 or 502", cmd, code, msg)
		}
		// Nothing may have been sent or read on the prepared data port.
		dc, err := net.DialTimeout("tcp", dataAddr, time.Second)
		if err == nil {
			_ = dc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _ := dc.Read(make([]byte, 1))
			dc.Close()
			if n != 0 {
				t.Errorf("%q: data was sent", cmd)
			}
		}
	}
	c.expect(226, "ABOR")
	c.expect(221, "QUIT")
}

func TestRetrAndListings(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	c.expect(200, "TYPE I")
	for name, want := range visibleFiles {
		if got := c.get("RETR /" + name); !bytes.Equal(got, want) {
			t.Errorf("RETR %q: %d bytes differ from the %d on disk", name, len(got), len(want))
		}
	}
	names := lines(t, c.get("NLST"))
	want := []string{"emoji 😀 dir", "odd names", "sub", "big.bin", "empty.txt", "hello.txt",
		"huge.bin", "inside-link.txt", "ünïcödé.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("NLST = %q, want %q", names, want)
	}
	list := lines(t, c.get("LIST"))
	if len(list) != len(want) {
		t.Fatalf("LIST has %d lines, want %d: %q", len(list), len(want), list)
	}
	for i, l := range list {
		if !strings.HasSuffix(l, " "+want[i]) {
			t.Errorf("LIST line %d %q does not end with %q", i, l, want[i])
		}
	}
	if !strings.HasPrefix(list[0], "dr-xr-xr-x ") || !strings.HasPrefix(list[3], "-r--r--r-- ") {
		t.Errorf("LIST modes wrong: %q", list[:4])
	}
	c.expect(250, "CWD odd names")
	c.expect(257, "PWD")
	if got := lines(t, c.get("NLST")); !slices.Equal(got, []string{"#hash%25pct.txt", "with space.txt"}) {
		t.Errorf("NLST in odd names = %q", got)
	}
	if got := c.get("RETR #hash%25pct.txt"); string(got) != "hash and percent\n" {
		t.Errorf("RETR in folder = %q", got)
	}
	for cmd, want := range map[string][]string{
		"NLST /sub":          {"/sub/deeper"},
		"NLST ../sub/":       {"../sub/deeper"},
		"NLST *.txt":         {"#hash%25pct.txt", "with space.txt"},
		"NLST /odd names/w*": {"/odd names/with space.txt"},
		"NLST /hello.txt":    {"/hello.txt"},
		"NLST /*.bin":        {"/big.bin", "/huge.bin"},
	} {
		if got := lines(t, c.get(cmd)); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", cmd, got, want)
		}
	}
	if got := lines(t, c.get("LIST ../*.bin")); len(got) != 2 || !strings.HasSuffix(got[0], " big.bin") {
		t.Errorf("LIST ../*.bin = %q", got)
	}
	c.epsv()
	c.expect(550, "NLST *.nothing")
	c.expect(550, "NLST /.hid*") // hidden entries match no pattern
	c.expect(250, "CDUP")
	c.expect(250, "CWD ../../..") // cleaned: never above the root
	if got := c.expect(257, "PWD"); got != `"/" is the current directory.` {
		t.Errorf("PWD after CWD ../../.. = %q", got)
	}
	c.epsv()
	c.expect(550, "RETR nope.txt")
	c.expect(550, "LIST nope") // the passive port waits on
	c.expect(550, "RETR .hidden")
}

func TestListFlagsIgnored(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	plain := c.get("LIST")
	for _, cmd := range []string{"LIST -a", "LIST -la", "LIST -l -a", "LIST -al /"} {
		if got := c.get(cmd); !bytes.Equal(got, plain) {
			t.Errorf("%q lists\n%s\nwant\n%s", cmd, got, plain)
		}
	}
	if strings.Contains(string(plain), ".hidden") || strings.Contains(string(plain), ".secretdir") {
		t.Error("hidden entries listed")
	}
	if got := lines(t, c.get("LIST -la odd names")); len(got) != 2 {
		t.Errorf("LIST -la with a spaced path: %q", got)
	}
}

func TestSymlinksOutOfFolderInvisible(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	for _, cmd := range []string{"NLST", "LIST", "MLSD"} {
		got := string(c.get(cmd))
		for _, name := range []string{"escape.txt", "escape-dir", "escape-rel.txt", ".hidden"} {
			if strings.Contains(got, name) {
				t.Errorf("%s shows %q", cmd, name)
			}
		}
	}
	for _, cmd := range []string{"RETR escape.txt", "RETR escape-rel.txt", "RETR escape-dir/s.txt",
		"RETR .hidden", "RETR ../outside/s.txt", "RETR /../outside/s.txt", "LIST escape-dir",
		"MLSD escape-dir", "NLST escape-dir"} {
		c.epsv()
		c.expect(550, cmd)
	}
	for _, cmd := range []string{"SIZE escape.txt", "MDTM escape.txt", "MLST escape.txt",
		"CWD escape-dir", "STAT escape-dir"} {
		c.expect(550, cmd)
	}
	c.expect(226, "ABOR") // drops the last passive port
}

func TestSizeMdtmMlstUTC(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	if got := c.expect(213, "SIZE big.bin"); got != "3145851" {
		t.Errorf("SIZE big.bin = %q", got)
	}
	c.expect(550, "SIZE sub")
	c.expect(550, "SIZE nope")
	if got := c.expect(213, "MDTM hello.txt"); got != "20210615123456" {
		t.Errorf("MDTM = %q, want the UTC time 20210615123456", got)
	}
	msg := c.expect(250, "MLST hello.txt")
	if !strings.Contains(msg, "type=file;size=13;modify=20210615123456;perm=r; /hello.txt") {
		t.Errorf("MLST = %q", msg)
	}
	var found bool
	for _, l := range lines(t, c.get("MLSD")) {
		if l == "type=file;size=13;modify=20210615123456;perm=r; hello.txt" {
			found = true
		}
		if strings.HasPrefix(l, "type=dir;") && !strings.Contains(l, "perm=el;") {
			t.Errorf("MLSD dir line %q", l)
		}
	}
	if !found {
		t.Error("MLSD lacks the UTC line of hello.txt")
	}
	if got := string(c.get("LIST hello.txt")); !strings.Contains(got, " Jun 15  2021 hello.txt") {
		t.Errorf("LIST of a file = %q", got)
	}
	c.expect(501, "MLSD hello.txt")
}

func TestFeatAndOpts(t *testing.T) {
	addr := startFixture(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("FEAT\r\nQUIT\r\n")); err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(conn)
	if bytes.Count(raw, []byte("\n")) != bytes.Count(raw, []byte("\r\n")) {
		t.Errorf("a reply line ends in a bare LF: %q", raw)
	}
	for _, f := range []string{"\r\n SIZE\r\n", "\r\n MDTM\r\n", "\r\n REST STREAM\r\n", "\r\n MLSD\r\n",
		"\r\n MLST type*;size*;modify*;perm*;\r\n", "\r\n EPSV\r\n", "\r\n EPRT\r\n", "\r\n UTF8\r\n",
		"211-Features:\r\n", "211 End\r\n"} {
		if !bytes.Contains(raw, []byte(f)) {
			t.Errorf("FEAT lacks %q: %q", f, raw)
		}
	}
	c := dial(t, addr)
	c.expect(200, "OPTS UTF8 ON")
	c.expect(200, "OPTS utf8 on")
	c.expect(501, "OPTS")
	c.expect(501, "OPTS FOO BAR")
}

func TestRestSurvivesOtherCommands(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	want := visibleFiles["big.bin"]
	c.expect(350, "REST 1000")
	c.expect(200, "TYPE I")
	c.expect(213, "SIZE big.bin")
	dataAddr := c.epsv() // between REST and RETR, as curl and lftp do
	c.expect(200, "NOOP")
	dc := dialData(t, dataAddr)
	c.expect(150, "RETR big.bin")
	got, err := io.ReadAll(dc)
	dc.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.expect(226, "")
	if !bytes.Equal(got, want[1000:]) {
		t.Errorf("resumed RETR sent %d bytes, want the %d after offset 1000", len(got), len(want)-1000)
	}
	// The marker serves one RETR only.
	if got := c.get("RETR big.bin"); len(got) != len(want) {
		t.Errorf("RETR after a resumed one sent %d bytes, want %d", len(got), len(want))
	}
	c.expect(501, "REST -5")
	c.expect(501, "REST x")
	c.expect(350, "REST 99999999")
	c.epsv()
	c.expect(554, "RETR big.bin")
	c.expect(226, "ABOR")
}

func TestAbortRunningTransfer(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	dc := dialData(t, c.epsv())
	defer dc.Close()
	c.expect(150, "RETR huge.bin")
	// Read a little, then stop reading so the server blocks in the send.
	if _, err := io.ReadFull(dc, make([]byte, 1<<16)); err != nil {
		t.Fatal(err)
	}
	c.expect(426, "ABOR")
	c.expect(226, "")
	// The session goes on.
	if got := c.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("RETR after ABOR = %q", got)
	}
	c.expect(226, "ABOR") // no transfer running
}

func TestAbortWhileWaitingForDataConnection(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	c.epsv()
	// RETR waits for a data connection that never comes; ABOR ends it.
	if err := c.tp.PrintfLine("RETR hello.txt"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	// The client's 20 s deadline is shorter than the passive port's 60 s
	// wait: only ABOR can answer in time.
	c.expect(425, "ABOR")
	c.expect(226, "")
	if got := c.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("RETR after ABOR = %q", got)
	}
}

func TestAbortWithTelnetBytes(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	dc := dialData(t, c.epsv())
	defer dc.Close()
	c.expect(150, "RETR huge.bin")
	// IAC IP IAC DM before ABOR, as RFC 959 clients send.
	if _, err := c.conn.Write([]byte("\xff\xf4\xff\xf2ABOR\r\n")); err != nil {
		t.Fatal(err)
	}
	c.expect(426, "")
	c.expect(226, "")
}

func TestStatAndHelp(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	if msg := c.expect(211, "STAT"); !strings.Contains(msg, "127.0.0.1") {
		t.Errorf("STAT = %q", msg)
	}
	if msg := c.expect(213, "STAT odd names"); !strings.Contains(msg, "with space.txt") {
		t.Errorf("STAT odd names = %q", msg)
	}
	c.expect(214, "HELP")
	c.expect(200, "TYPE A N")
	c.expect(200, "TYPE L 8")
	c.expect(200, "type i")
	c.expect(504, "TYPE E")
	c.expect(215, "SYST")
	c.expect(500, "BOGUS")
	c.expect(501, "RETR")
	c.expect(501, "CWD")
	c.expect(502, "LPRT 4,4,127,0,0,2,2,4,1")
	c.expect(425, "RETR hello.txt") // no PASV first
	c.expect(425, "LIST")
}

func TestPublicHostAndOptions(t *testing.T) {
	_, addr := start(t, openView(t), Options{PublicHost: "127.0.0.3"}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	if msg := c.expect(227, "PASV"); !strings.Contains(msg, "(127,0,0,3,") {
		t.Errorf("PASV with a public host = %q", msg)
	}
	c.expect(226, "ABOR")
	for _, opts := range []Options{
		{PublicHost: "::1"}, // PASV can announce IPv4 only
		{PassiveLow: 5000},
		{PassiveLow: 6000, PassiveHigh: 5000},
		{PassiveLow: 1, PassiveHigh: 70000},
	} {
		if _, err := New(openView(t), opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New without a view accepted")
	}
}

func TestAddrOfUnmapsIPv4(t *testing.T) {
	got := addrOf(&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 21})
	if !got.Is4() || got.String() != "127.0.0.1" {
		t.Errorf("addrOf of an IPv4-mapped address = %v, want 127.0.0.1", got)
	}
}

// TestRepliesCarryNoControlCharacters sends arguments with a bare CR,
// NUL and other control characters, and bytes that are not UTF-8: every
// reply must stay one clean line, so a client cannot forge replies.
func TestRepliesCarryNoControlCharacters(t *testing.T) {
	addr := startFixture(t)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	// replyLine reads one reply line and checks it.
	replyLine := func(sent string) string {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", sent, err)
		}
		body, ok := strings.CutSuffix(line, "\r\n")
		if !ok || !utf8.ValidString(body) || strings.ContainsFunc(body, unicode.IsControl) {
			t.Errorf("after %q: reply line %q is not clean, valid UTF-8 ending in CRLF", sent, line)
		}
		return body
	}
	// command sends raw, checks that its whole reply is one line with
	// the wanted code, and that the next command gets its own reply.
	command := func(raw string, code int) {
		t.Helper()
		if _, err := conn.Write([]byte(raw + "\r\n")); err != nil {
			t.Fatal(err)
		}
		if got := replyLine(raw); !strings.HasPrefix(got, strconv.Itoa(code)+" ") {
			t.Errorf("%q: reply %q, want %d", raw, got, code)
		}
		if _, err := conn.Write([]byte("NOOP\r\n")); err != nil {
			t.Fatal(err)
		}
		if got := replyLine("NOOP"); !strings.HasPrefix(got, "200 ") {
			t.Errorf("%q: a forged reply came before NOOP's own: %q", raw, got)
		}
	}
	replyLine("connect")
	command("USER anonymous", 331)
	command("PASS x\r230 fake", 230)
	forged := "a.txt\r226 fake reply"
	for _, arg := range []string{
		forged, "nul\x00byte", "esc\x1b[2Jx", "del\x7fx", "nel\u0085x", "tab\tx",
		"bad\xff\xfe.txt", "ends in cr\r",
		// goftp writes through a 4 KiB buffer: a CR at its edge.
		strings.Repeat("a", 4096-len("550 Directory change to /")-1) + "\r226 split",
	} {
		command("SIZE "+arg, 550)
		command("MDTM "+arg, 550)
		command("MLST "+arg, 550)
		command("STAT "+arg, 550)
		command("CWD "+arg, 550)
		command("OPTS "+arg, 501)
	}
	command("EPSV", 229)
	command("RETR "+forged, 550)
	command("EPSV", 229)
	command("LIST "+forged, 550)
	command("EPSV", 229)
	command("MLSD "+forged, 550)
	command("EPSV", 229)
	command("NLST "+forged, 550)
	command("CWD sub", 250)
	command("PWD", 257)
}

// openSpy records every name its view is asked to open.
type openSpy struct {
	sharefs.View
	mu     sync.Mutex
	opened []string
}

func (v *openSpy) Open(name string) (sharefs.File, error) {
	v.mu.Lock()
	v.opened = append(v.opened, name)
	v.mu.Unlock()
	return v.View.Open(name)
}

func (v *openSpy) took() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.opened)
}

func TestRetrChecksTypeBeforeOpen(t *testing.T) {
	spy := &openSpy{View: openView(t)}
	_, addr := start(t, spy, Options{}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	for _, name := range []string{"sub", "sub/deeper", "/", ".", "missing.txt", ".hidden", "escape.txt"} {
		c.epsv()
		if msg := c.expect(550, "RETR "+name); name == "sub" && !strings.Contains(msg, "not a plain file") {
			t.Errorf("RETR sub: %q", msg)
		}
	}
	if got := spy.took(); len(got) != 0 {
		t.Errorf("RETR opened %q before refusing; nothing should have been opened", got)
	}
	if got := c.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("RETR hello.txt = %q", got)
	}
	if got := spy.took(); !slices.Equal(got, []string{"/hello.txt"}) {
		t.Errorf("opened %q, want [/hello.txt]", got)
	}
}
