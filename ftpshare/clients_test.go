package ftpshare

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// run runs a client program with a time limit and returns its output.
func run(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	path := testutil.NeedTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		t.Logf("%s %q: %v\n%s", name, args, err, errOut.String())
	}
	return out.Bytes(), err
}

// curlBase are the options of every curl run: quiet, bounded.
var curlBase = []string{"-sS", "--max-time", "60", "--connect-timeout", "5"}

func curl(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return run(t, "curl", append(append([]string{}, curlBase...), args...)...)
}

func TestCurlDownloads(t *testing.T) {
	testutil.NeedTool(t, "curl")
	addr := startFixture(t)
	cases := []struct {
		name string
		args []string
		path string
	}{
		{"epsv", nil, "hello.txt"},
		{"pasv", []string{"--disable-epsv"}, "big.bin"},
		{"active dash", []string{"-P", "-"}, "big.bin"},
		{"active address", []string{"-P", "127.0.0.1"}, "hello.txt"},
		{"active eprt off", []string{"-P", "-", "--disable-eprt"}, "sub/deeper/leaf.txt"},
		{"odd names", nil, "odd names/#hash%25pct.txt"},
		{"unicode", nil, "ünïcödé.txt"},
		{"emoji", nil, "emoji 😀 dir/grin 😀.txt"},
		{"empty", nil, "empty.txt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := "ftp://" + addr + "/" + escapePath(tc.path)
			got, err := curl(t, append(tc.args, url)...)
			if err != nil {
				t.Fatalf("curl %s: %v", url, err)
			}
			if !bytes.Equal(got, visibleFiles[tc.path]) {
				t.Errorf("curl %s: %d bytes, want %d", url, len(got), len(visibleFiles[tc.path]))
			}
		})
	}
	t.Run("listing", func(t *testing.T) {
		got, err := curl(t, "ftp://"+addr+"/odd%20names/")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), " with space.txt\n") {
			t.Errorf("curl listing = %q", got)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := curl(t, "ftp://"+addr+"/escape.txt"); err == nil {
			t.Error("curl fetched a link out of the folder")
		}
	})
	t.Run("upload refused", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "up.txt")
		if err := os.WriteFile(src, []byte("upload"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := curl(t, "-T", src, "ftp://"+addr+"/up.txt"); err == nil {
			t.Error("curl upload succeeded")
		}
	})
}

// escapePath percent-encodes each element of a path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = strings.NewReplacer("%", "%25", " ", "%20", "#", "%23").Replace(s)
	}
	return strings.Join(parts, "/")
}

func TestCurlResume(t *testing.T) {
	testutil.NeedTool(t, "curl")
	addr := startFixture(t)
	want := visibleFiles["big.bin"]
	for _, args := range [][]string{nil, {"-P", "-"}, {"--disable-epsv"}} {
		out := filepath.Join(t.TempDir(), "big.bin")
		if err := os.WriteFile(out, want[:1234567], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := curl(t, append(args, "-C", "-", "-o", out, "ftp://"+addr+"/big.bin")...); err != nil {
			t.Fatalf("curl -C - %v: %v", args, err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("resumed download %v: %d bytes, want %d equal bytes", args, len(got), len(want))
		}
	}
}

func TestCurlIPv6(t *testing.T) {
	testutil.NeedTool(t, "curl")
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		testutil.Skip(t, "no IPv6 loopback: "+err.Error())
	} else {
		ln.Close()
	}
	_, addr := start(t, openView(t), Options{}, "::1")
	for _, args := range [][]string{nil, {"-P", "-"}} {
		got, err := curl(t, append(args, "ftp://"+addr+"/big.bin")...)
		if err != nil || !bytes.Equal(got, visibleFiles["big.bin"]) {
			t.Errorf("curl %v over IPv6: %d bytes, %v", args, len(got), err)
		}
	}
}

func TestLftpMirror(t *testing.T) {
	testutil.NeedTool(t, "lftp")
	addr := startFixture(t)
	host, port, _ := net.SplitHostPort(addr)
	settings := map[string]string{
		"mlsd":    "set ftp:use-mlsd on",
		"list":    "set ftp:use-mlsd off",
		"active":  "set ftp:passive-mode off",
		"utf8off": "set ftp:use-feat off; set ftp:use-mlsd off",
	}
	for name, set := range settings {
		t.Run(name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "mirror")
			script := strings.Join([]string{
				"set net:timeout 10", "set net:max-retries 2", "set net:reconnect-interval-base 1",
				"set cmd:fail-exit yes", set,
				"open -u anonymous,test@ -p " + port + " " + host,
				"mirror --exclude-glob huge.bin / " + dest,
			}, "; ")
			if _, err := run(t, "lftp", "-c", script); err != nil {
				t.Fatalf("lftp mirror: %v", err)
			}
			got := readTree(t, dest)
			for name, data := range visibleFiles {
				if g, ok := got[name]; !ok || !bytes.Equal(g, data) {
					t.Errorf("mirror of %q: present %v, %d bytes, want %d", name, ok, len(g), len(data))
				}
				delete(got, name)
			}
			for name := range got {
				t.Errorf("mirror has %q, which the server must not show", name)
			}
		})
	}
}

// TestLftpParallelGet has lftp fetch one file in pieces over parallel
// sessions, each resuming (REST) at its own offset.
func TestLftpParallelGet(t *testing.T) {
	testutil.NeedTool(t, "lftp")
	addr := startFixture(t)
	host, port, _ := net.SplitHostPort(addr)
	out := filepath.Join(t.TempDir(), "big.bin")
	script := strings.Join([]string{
		"set net:timeout 10", "set net:max-retries 2", "set net:reconnect-interval-base 1",
		"set cmd:fail-exit yes", "set pget:min-chunk-size 64k", "set net:limit-rate 2000000",
		"open -u anonymous,test@ -p " + port + " " + host,
		"pget -n 4 big.bin -o " + out,
	}, "; ")
	if _, err := run(t, "lftp", "-c", script); err != nil {
		t.Fatalf("lftp pget: %v", err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, visibleFiles["big.bin"]) {
		t.Errorf("pget -n 4: %d bytes, want the %d of big.bin", len(got), len(visibleFiles["big.bin"]))
	}
}

// readTree returns the files under root with their contents.
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// ftplibScript uses Python's ftplib: MLSD, SIZE, MDTM, REST and NLST.
const ftplibScript = `
import ftplib, json, sys, hashlib
host, port = sys.argv[1], int(sys.argv[2])
f = ftplib.FTP(timeout=10)
f.connect(host, port)
f.login()
out = {}
out["mlsd"] = {name: facts for name, facts in f.mlsd("/", ["type", "size", "modify", "perm"])}
out["size"] = f.size("big.bin")
out["mdtm"] = f.sendcmd("MDTM hello.txt")
parts = []
f.retrbinary("RETR big.bin", parts.append, rest=1000)
out["rest_sha"] = hashlib.sha256(b"".join(parts)).hexdigest()
parts = []
f.retrbinary("RETR odd names/with space.txt", parts.append)
out["spaced"] = b"".join(parts).decode()
out["nlst"] = f.nlst("sub")
try:
    f.storbinary("STOR x.txt", __import__("io").BytesIO(b"x"))
    out["stor"] = "accepted"
except ftplib.error_perm as e:
    out["stor"] = str(e)[:3]
f.quit()
print(json.dumps(out))
`

func TestPythonFtplib(t *testing.T) {
	testutil.NeedTool(t, "python3")
	hosts := []string{"127.0.0.1"}
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		ln.Close()
		hosts = append(hosts, "::1")
	}
	for _, host := range hosts {
		_, addr := start(t, openView(t), Options{}, host)
		h, port, _ := net.SplitHostPort(addr)
		out, err := run(t, "python3", "-c", ftplibScript, h, port)
		if err != nil {
			t.Fatalf("ftplib over %s: %v", host, err)
		}
		var got struct {
			MLSD    map[string]map[string]string `json:"mlsd"`
			Size    int                          `json:"size"`
			MDTM    string                       `json:"mdtm"`
			RestSHA string                       `json:"rest_sha"`
			Spaced  string                       `json:"spaced"`
			NLST    []string                     `json:"nlst"`
			Stor    string                       `json:"stor"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("ftplib output %q: %v", out, err)
		}
		hello := got.MLSD["hello.txt"]
		if hello["type"] != "file" || hello["size"] != "13" || hello["modify"] != "20210615123456" || hello["perm"] != "r" {
			t.Errorf("MLSD hello.txt facts = %v", hello)
		}
		if got.MLSD["sub"]["type"] != "dir" {
			t.Errorf("MLSD sub facts = %v", got.MLSD["sub"])
		}
		if _, ok := got.MLSD["escape.txt"]; ok {
			t.Error("MLSD shows a link out of the folder")
		}
		if got.Size != len(visibleFiles["big.bin"]) || got.MDTM != "213 20210615123456" {
			t.Errorf("SIZE %d, MDTM %q", got.Size, got.MDTM)
		}
		if got.RestSHA != sha256Hex(visibleFiles["big.bin"][1000:]) {
			t.Error("REST 1000 + RETR sent the wrong bytes")
		}
		if got.Spaced != "space\n" || len(got.NLST) != 1 || got.NLST[0] != "sub/deeper" || got.Stor != "550" {
			t.Errorf("spaced %q, NLST %q, STOR %q", got.Spaced, got.NLST, got.Stor)
		}
	}
}

// streamView serves files the way a view of made-up files does (an
// encrypting view over files that cannot seek): made while
// read, so without Seek and with a size not known in advance.
type streamView struct{ sharefs.View }

func (v streamView) Stat(name string) (sharefs.Entry, error) {
	e, err := v.View.Stat(name)
	if err == nil && !e.IsDir {
		e.Size = -1
	}
	return e, err
}

func (v streamView) List(name string) ([]sharefs.Entry, error) {
	entries, err := v.View.List(name)
	for i := range entries {
		if !entries[i].IsDir {
			entries[i].Size = -1
		}
	}
	return entries, err
}

func (v streamView) Open(name string) (sharefs.File, error) {
	f, err := v.View.Open(name)
	if err != nil {
		return nil, err
	}
	return struct{ io.ReadCloser }{f}, nil
}

func TestUnseekableFiles(t *testing.T) {
	_, addr := start(t, streamView{openView(t)}, Options{}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	if msg := c.expect(504, "SIZE big.bin"); !strings.Contains(msg, "not known") {
		t.Errorf("SIZE message %q", msg)
	}
	c.expect(350, "REST 100")
	c.epsv()
	if msg := c.expect(554, "RETR big.bin"); !strings.Contains(msg, "cannot resume") {
		t.Errorf("REST+RETR message %q", msg)
	}
	if got := c.get("RETR big.bin"); !bytes.Equal(got, visibleFiles["big.bin"]) {
		t.Errorf("RETR of an unseekable file: %d bytes", len(got))
	}
	for _, l := range lines(t, c.get("MLSD")) {
		if strings.HasPrefix(l, "type=file;") && strings.Contains(l, "size=") {
			t.Errorf("MLSD announces a size it does not know: %q", l)
		}
	}
	if _, err := exec.LookPath("curl"); err == nil || testutil.InCI() {
		got, err := curl(t, "ftp://"+addr+"/big.bin")
		if err != nil || !bytes.Equal(got, visibleFiles["big.bin"]) {
			t.Errorf("curl of an unseekable file: %d bytes, %v", len(got), err)
		}
	}
}

// ftplibNamesScript lists a folder with every ftplib call that decodes
// names, and fetches one file.
const ftplibNamesScript = `
import ftplib, json, sys
host, port = sys.argv[1], int(sys.argv[2])
f = ftplib.FTP(timeout=10)
f.connect(host, port)
f.login()
out = {}
out["mlsd"] = sorted(name for name, facts in f.mlsd())
out["nlst"] = sorted(f.nlst())
out["nlst_sub"] = sorted(f.nlst("sub"))
listing = []
f.retrlines("LIST", listing.append)
out["list"] = len(listing)
parts = []
f.retrbinary("RETR good.txt", parts.append)
out["good"] = b"".join(parts).decode()
f.quit()
print(json.dumps(out))
`

// TestPythonFtplibNonUTF8Names serves a folder where some names are not
// valid UTF-8: they are left out of listings, and the others list and
// download as usual.
func TestPythonFtplibNonUTF8Names(t *testing.T) {
	testutil.NeedTool(t, "python3")
	dir := t.TempDir()
	for name, data := range map[string]string{
		"good.txt":             "good\n",
		"ünï.txt":              "unicode\n",
		"bad\xff\xfe.txt":      "bad\n",
		"latin1-\xe9t\xe9.txt": "latin-1\n",
		"sub/ok.txt":           "ok\n",
		"sub/\xc3(.txt":        "bad utf-8 sequence\n",
		"bad\xffdir/x.txt":     "in a folder with a bad name\n",
		"cr\rdir/x.txt":        "in a folder with a CR in its name\n",
	} {
		if err := writeFile(filepath.Join(dir, name), []byte(data)); err != nil {
			testutil.Skip(t, "the file system refuses names that are not UTF-8: "+err.Error())
		}
	}
	view, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { view.Close() })
	_, addr := start(t, view, Options{}, "127.0.0.1")
	h, port, _ := net.SplitHostPort(addr)
	out, err := run(t, "python3", "-c", ftplibNamesScript, h, port)
	if err != nil {
		t.Fatalf("ftplib: %v", err)
	}
	var got struct {
		MLSD    []string `json:"mlsd"`
		NLST    []string `json:"nlst"`
		NLSTSub []string `json:"nlst_sub"`
		LIST    int      `json:"list"`
		Good    string   `json:"good"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("ftplib output %q: %v", out, err)
	}
	want := []string{"good.txt", "sub", "ünï.txt"}
	if !slices.Equal(got.MLSD, want) || !slices.Equal(got.NLST, want) || got.LIST != len(want) {
		t.Errorf("MLSD %q, NLST %q, LIST %d lines; want %q", got.MLSD, got.NLST, got.LIST, want)
	}
	if !slices.Equal(got.NLSTSub, []string{"sub/ok.txt"}) || got.Good != "good\n" {
		t.Errorf("NLST sub %q, RETR good.txt %q", got.NLSTSub, got.Good)
	}
	// NLST puts the folder as the client spelt it before each name.
	c := dial(t, addr)
	c.login()
	// (A 0xFF byte goes doubled, as Telnet wants.)
	for _, dir := range []string{"cr\rdir", "bad\xff\xffdir"} {
		if data := c.get("NLST " + dir); len(data) != 0 {
			t.Errorf("NLST %q = %q; want nothing", dir, data)
		}
	}
	c.expect(550, "MLST bad\xff\xff\xfe.txt")
}
