package ftpshare

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/netutil"
	"example.com/share/sharefs"
)

// nameSigner stands in for the card on the FTP side: its "signature" of
// a file is a fixed text naming it and its size, or err. The card itself
// is tested through pcscd in cardcrypt and share's end-to-end tests.
type nameSigner struct{ err error }

func (n nameSigner) SignFile(_ context.Context, _ netip.Addr, view sharefs.View, name string) ([]byte, sharefs.Entry, error) {
	e, err := view.Stat(name)
	if err != nil {
		return nil, e, err
	}
	if n.err != nil {
		return nil, e, n.err
	}
	return []byte("signature of " + name + " (" + strconv.FormatInt(e.Size, 10) + " bytes)"), e, nil
}

func signingServer(t *testing.T, signer Signer) string {
	t.Helper()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "folder"), 0o755)
	for name, data := range map[string]string{"a.txt": "alpha\n", "real.txt": "r\n", "real.txt.sig": "a real file\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
	}
	v, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	_, addr := start(t, v, Options{Signer: signer}, "127.0.0.1")
	return addr
}

// TestSignatureFiles: FILE.sig answers SIZE, MDTM, RETR and REST for a
// file without a real FILE.sig, is not listed, and a real one wins.
func TestSignatureFiles(t *testing.T) {
	c := dial(t, signingServer(t, nameSigner{}))
	c.login()
	want := "signature of a.txt (6 bytes)"
	if got := c.expect(213, "SIZE a.txt.sig"); got != strconv.Itoa(len(want)) {
		t.Errorf("SIZE a.txt.sig = %s, want %d", got, len(want))
	}
	if got, file := c.expect(213, "MDTM a.txt.sig"), c.expect(213, "MDTM a.txt"); got != file {
		t.Errorf("MDTM a.txt.sig = %s, the file's is %s", got, file)
	}
	if got := string(c.get("RETR a.txt.sig")); got != want {
		t.Errorf("RETR a.txt.sig = %q", got)
	}
	c.expect(350, "REST 13")
	if got := string(c.get("RETR a.txt.sig")); got != want[13:] {
		t.Errorf("RETR after REST 13 = %q", got)
	}
	if got := string(c.get("RETR real.txt.sig")); got != "a real file\n" {
		t.Errorf("a real FILE.sig was not served: %q", got)
	}
	for _, name := range []string{"missing.sig", "folder.sig", "a.txt.sig.sig"} {
		c.expect(550, "SIZE "+name)
	}
	if names := string(c.get("NLST")); strings.Contains(names, "a.txt.sig") {
		t.Errorf("NLST lists the signature: %q", names)
	}
}

// TestSignatureRefused: when the card cannot sign, FILE.sig answers 450
// (try again later) and the file itself is still served.
func TestSignatureRefused(t *testing.T) {
	c := dial(t, signingServer(t, nameSigner{err: errors.New("card removed")}))
	c.login()
	c.expect(450, "SIZE a.txt.sig")
	if got := string(c.get("RETR a.txt")); got != "alpha\n" {
		t.Errorf("RETR a.txt = %q", got)
	}
}

// waitingSigner stands in for a signature that takes long (a big file
// hashed): it waits until its context ends, and says when it started
// and when it stopped.
type waitingSigner struct{ started, stopped chan struct{} }

func (w waitingSigner) SignFile(ctx context.Context, _ netip.Addr, view sharefs.View, name string) ([]byte, sharefs.Entry, error) {
	close(w.started)
	<-ctx.Done()
	close(w.stopped)
	return nil, sharefs.Entry{}, ctx.Err()
}

// TestSignatureStopsWhenClientLeaves: a client that asks for FILE.sig
// and hangs up while it is made leaves nothing running for it.
func TestSignatureStopsWhenClientLeaves(t *testing.T) {
	if !netutil.CanSeePeerGone {
		t.Skip("this system tells a peer has gone only at the next write")
	}
	w := waitingSigner{make(chan struct{}), make(chan struct{})}
	c := dial(t, signingServer(t, w))
	c.login()
	if err := c.tp.PrintfLine("SIZE a.txt.sig"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the signature was not asked for")
	}
	c.conn.Close()
	select {
	case <-w.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the signature went on after the client left")
	}
}
