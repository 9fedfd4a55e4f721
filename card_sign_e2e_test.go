//go:build linux && cgo

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/share/internal/cardtest"
	"example.com/share/internal/testutil"
)

// signingCard starts the card stack with keys GnuPG made on the card and
// returns the stack, the owner's GnuPG home (its agent stopped) and a
// PIN file with the card's PIN.
func signingCard(t *testing.T, algo string) (*cardtest.Stack, *cardtest.GnuPG, string) {
	t.Helper()
	stack, owner := cardtest.StartWithKeys(t, algo, "owner@example.org")
	return stack, owner, pinFile(t, cardtest.UserPIN)
}

func pinFile(t *testing.T, pin string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(path, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// importPubkey fetches /?pubkey into a fresh GnuPG home and returns the
// home and the certificate.
func importPubkey(t *testing.T, base, wantFpr string) (*cardtest.GnuPG, []byte) {
	t.Helper()
	cert := download(t, base+"?pubkey")
	g := cardtest.NewGnuPG(t, true)
	g.Run(cert, "--import")
	if got := g.Fingerprint(wantFpr); got != wantFpr {
		t.Fatalf("?pubkey imported as %s, want the card's %s", got, wantFpr)
	}
	return g, cert
}

func expectVerifies(t *testing.T, g *cardtest.GnuPG, sig, data []byte, fpr string) {
	t.Helper()
	got, err := g.VerifyDetached(sig, data)
	if err != nil || got != fpr {
		t.Fatalf("gpg --verify: %v (key %s, want %s)", err, got, fpr)
	}
}

// TestSignedDownloads: share --sign serves signatures GnuPG and Sequoia
// verify with the certificate from /?pubkey, over HTTP and FTP, plain,
// armored and behind encryption; the signed SHA256SUMS checks with
// sha256sum -c; a changed file gets a new signature.
func TestSignedDownloads(t *testing.T) {
	for _, tc := range []struct {
		algo           string
		encrypt, armor bool
		sigSuffix      string // of the names signatures are saved under
	}{
		{cardtest.Cv25519, false, false, ".sig"},
		{cardtest.NISTP384, false, true, ".asc"},
		// Armored behind encryption still .sig: NAME.asc is the encrypted file.
		{cardtest.RSA, true, true, ".sig"},
	} {
		name := tc.algo
		if tc.encrypt {
			name += "/encrypt"
		}
		if tc.armor {
			name += "/armor"
		}
		t.Run(name, func(t *testing.T) {
			_, owner, pin := signingCard(t, tc.algo)
			fpr := owner.Fingerprint("owner@example.org")
			dir, files := cardFolder(t)
			args := []string{"--sign", "--pin-file", pin, "--uid", "Card Owner <owner@example.org>"}
			suffix := ""
			if tc.encrypt {
				args, suffix = append(args, "--encrypt"), ".asc"
			}
			if tc.armor {
				args = append(args, "--armor")
			}
			r := startShare(t, nil, append(append(args, loopbackArgs...), dir)...)
			checkLoopback(t, r.url)
			verifier, cert := importPubkey(t, r.url, fpr)

			for _, name := range []string{"notes.txt", "data set.bin", "sub/inside.bin"} {
				resp := fetchSignature(t, r.url+pathEscape(name+suffix)+"?sig")
				expectVerifies(t, verifier, resp.body, files[name], fpr)
				expectSaveAs(t, resp, filepath.Base(name)+tc.sigSuffix)
				if armored := bytes.HasPrefix(resp.body, []byte("-----BEGIN PGP SIGNATURE-----")); armored != tc.armor {
					t.Errorf("%s: armored %v, want %v", name, armored, tc.armor)
				}
			}
			sig := fetchSignature(t, r.url+"notes.txt"+suffix+"?sig").body
			if err := cardtest.SqVerify(t, cert, sig, files["notes.txt"]); err != nil {
				t.Error(err)
			}

			sums := downloadStreamed(t, r.url+"?sha256")
			if tc.encrypt {
				plain, err := owner.Decrypt(sums)
				if err != nil {
					t.Fatalf("decrypt SHA256SUMS: %v", err)
				}
				sums = plain
			}
			sumsResp := fetchSignature(t, r.url+"?sha256&sig")
			expectVerifies(t, verifier, sumsResp.body, sums, fpr)
			expectSaveAs(t, sumsResp, "SHA256SUMS"+tc.sigSuffix)
			if !bytes.Contains(sums, []byte("  sub/inside.bin\n")) {
				t.Errorf("SHA256SUMS lacks the sub-folder:\n%s", sums)
			}
			sha256sumCheck(t, dir, sums)

			page := get(t, r.url)
			grouped := strings.Join(splitEvery(fpr, 4), " ")
			verifySums := "gpg --verify SHA256SUMS" + tc.sigSuffix + " SHA256SUMS"
			for _, want := range []string{grouped, "notes.txt" + suffix + "?sig", "?sha256&amp;sig",
				"gpg --verify FILE" + tc.sigSuffix + " FILE", verifySums, "sha256sum -c SHA256SUMS"} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(page, "gpg --decrypt") != tc.encrypt {
				t.Errorf("page's SHA256SUMS command decrypts: %v, want %v", !tc.encrypt, tc.encrypt)
			}

			ftpSig := curlFTP(t, r.ftp+"notes.txt.sig")
			expectVerifies(t, verifier, ftpSig, files["notes.txt"], fpr)
			head := string(curlFTP(t, "-I", r.ftp+"notes.txt.sig"))
			if !strings.Contains(head, "Content-Length: "+strconv.Itoa(len(ftpSig))) || !strings.Contains(head, "Last-Modified:") {
				t.Errorf("FTP SIZE/MDTM of the signature: curl -I says %q", head)
			}
			if names := string(curlFTP(t, "--list-only", r.ftp)); strings.Contains(names, ".sig") {
				t.Errorf("FTP listing shows signatures: %q", names)
			}

			changed := []byte("meeting moved to two\n")
			os.WriteFile(filepath.Join(dir, "notes.txt"), changed, 0o644)
			later := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(dir, "notes.txt"), later, later)
			newSig := fetchSignature(t, r.url+"notes.txt"+suffix+"?sig").body
			expectVerifies(t, verifier, newSig, changed, fpr)
			if _, err := verifier.VerifyDetached(sig, changed); err == nil {
				t.Error("the old signature verifies the changed file")
			}
		})
	}
}

// expectSaveAs checks the name a download is saved under.
func expectSaveAs(t *testing.T, resp sigResponse, want string) {
	t.Helper()
	if cd := resp.header.Get("Content-Disposition"); !strings.Contains(cd, strconv.Quote(want)) {
		t.Errorf("Content-Disposition %q, want %s", cd, want)
	}
}

// sha256sumCheck runs sha256sum -c on sums in the shared folder dir.
func sha256sumCheck(t *testing.T, dir string, sums []byte) {
	t.Helper()
	testutil.NeedTool(t, "sha256sum")
	path := filepath.Join(t.TempDir(), "SHA256SUMS")
	if err := os.WriteFile(path, sums, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sha256sum", "--strict", "-c", path)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
	}
}

type sigResponse struct {
	header http.Header
	body   []byte
}

// fetchSignature GETs a signature and checks its type.
func fetchSignature(t *testing.T, u string) sigResponse {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pgp-signature" {
		t.Fatalf("GET %s: %d %s: %s", u, resp.StatusCode, resp.Header.Get("Content-Type"), b.Bytes())
	}
	return sigResponse{resp.Header, b.Bytes()}
}

// TestSignStartErrors: each PIN problem is one line naming the cause and
// the fix, exit code 1, and no PIN try is spent when one would block it.
func TestSignStartErrors(t *testing.T) {
	stack, _, pin := signingCard(t, cardtest.RSA)
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		code, _, stderr := runShare(t, nil, append(append(args, loopbackArgs...), dir)...)
		return code, stderr
	}
	code, stderr := run("--sign")
	expectOneLineError(t, code, stderr, "--pin-file")
	code, stderr = run("--sign", "--pin-file", pinFile(t, "999999"))
	expectOneLineError(t, code, stderr, "2 tries left")
	stack.SetPIN(false, 1)
	code, stderr = run("--sign", "--pin-file", pin)
	expectOneLineError(t, code, stderr, "does not try the PIN")
	stack.SetPIN(true, 3)
	code, stderr = run("--sign", "--pin-file", pin)
	expectOneLineError(t, code, stderr, "forcesig")
	code, stderr = run("--sign") // said before any PIN is asked for
	expectOneLineError(t, code, stderr, "forcesig")
	if strings.Contains(stderr, cardtest.UserPIN) {
		t.Error("the PIN reached the log")
	}
	_, out, _ := runShare(t, nil, "card")
	if !strings.Contains(out, "PIN retry counter : 3 0 3") || !strings.Contains(out, "Signature PIN ....: forced") || !strings.Contains(out, "Signature counter :") {
		t.Errorf("share card does not show the PIN counters:\n%s", out)
	}
}

// TestSignCardPulled: without the card new signatures answer 503 with a
// log line while files and cached signatures are still served; once the
// card is back it signs again.
func TestSignCardPulled(t *testing.T) {
	stack, owner, pin := signingCard(t, cardtest.Cv25519)
	dir, files := cardFolder(t)
	r := startShare(t, nil, append(append([]string{"--sign", "--pin-file", pin}, loopbackArgs...), dir)...)
	cached := fetchSignature(t, r.url+"notes.txt?sig").body

	stack.Remove()
	resp, err := http.Get(r.url + "sub/inside.bin?sig")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("signature without the card: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	waitForLog(t, r, "card removed: signatures answer 503")
	if got := get(t, r.url+"notes.txt"); got != string(files["notes.txt"]) {
		t.Error("plain download failed without the card")
	}
	if again := fetchSignature(t, r.url+"notes.txt?sig").body; !bytes.Equal(again, cached) {
		t.Error("cached signature changed")
	}

	stack.Insert()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(r.url + "sub/inside.bin?sig")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fpr := owner.Fingerprint("owner@example.org")
			verifier, _ := importPubkey(t, r.url, fpr)
			expectVerifies(t, verifier, b.Bytes(), files["sub/inside.bin"], fpr)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no signature after the card came back: %d %s", resp.StatusCode, b.Bytes())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestSignQueueLimit: a burst of distinct signature requests from one
// client gets 503 with Retry-After past its share of the queue, and
// every admitted one a signature; meanwhile another client is signed for.
func TestSignQueueLimit(t *testing.T) {
	_, _, pin := signingCard(t, cardtest.RSA)
	dir := t.TempDir()
	const n = 10
	for i := range n {
		testutil.SparseFile(t, filepath.Join(dir, "big"+strconv.Itoa(i)), 256<<20) // long to hash
	}
	os.WriteFile(filepath.Join(dir, "small.txt"), []byte("small\n"), 0o644)
	r := startShare(t, nil, append(append([]string{"--sign", "--pin-file", pin, "--no-ftp"}, "--http", "127.0.0.1:0"), dir)...)
	codes := make([]int, n)
	refused := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Go(func() { otherClientSigned(t, r.url+"small.txt?sig", refused) })
	for i := range n {
		wg.Go(func() {
			c := &http.Client{Timeout: 2 * time.Minute}
			resp, err := c.Get(r.url + "big" + strconv.Itoa(i) + "?sig")
			if err != nil {
				t.Error(err)
				return
			}
			// A slow signature's 200 goes out before it: read it whole.
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && (err != nil || len(body) == 0) {
				t.Errorf("big%d?sig: 200 but no signature (%d bytes, %v)", i, len(body), err)
			}
			codes[i] = resp.StatusCode
			if resp.StatusCode == http.StatusServiceUnavailable {
				once.Do(func() { close(refused) })
				if resp.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
			}
		})
	}
	wg.Wait()
	ok, busy := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			busy++
		}
	}
	if ok == 0 || busy == 0 || ok > 2*n/3 || ok+busy != n {
		t.Errorf("statuses %v: want some signed, the rest refused", codes)
	}
}

// otherClientSigned asks for u from another loopback address once the
// flood of the first one is refused, and expects a signature.
func otherClientSigned(t *testing.T, u string, refused <-chan struct{}) {
	select {
	case <-refused:
	case <-time.After(time.Minute):
		t.Error("the flood was never refused")
		return
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: dialer.DialContext}}
	resp, err := c.Get(u)
	if err != nil {
		t.Error(err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || len(body) == 0 {
		t.Errorf("another client during the flood: %d, %d bytes, %v; want a signature", resp.StatusCode, len(body), err)
	}
}

// TestSignPINFromTerminal: without --pin-file share asks for the PIN on
// its terminal, which does not echo it, and then signs.
func TestSignPINFromTerminal(t *testing.T) {
	signingCard(t, cardtest.Cv25519)
	dir, _ := cardFolder(t)
	master, slave := openPTY(t)
	port := freePort(t)
	cmd := exec.Command(testutil.BuildShare(t), "--sign", "--no-ftp", "--http", fmt.Sprintf("127.0.0.1:%d", port), dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	slave.Close()
	term := &syncBuffer{}
	go io.Copy(term, master) // ends with EIO once share exits
	waitFor(t, "the PIN prompt", func() bool { return strings.Contains(term.String(), "PIN of the card's signature key:") })
	if _, err := master.Write([]byte(cardtest.UserPIN + "\n")); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitFor(t, "share to listen", func() bool {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	sig := fetchSignature(t, url+"notes.txt?sig").body
	if len(sig) == 0 {
		t.Error("no signature after the PIN was typed")
	}
	if strings.Contains(term.String(), cardtest.UserPIN) {
		t.Errorf("the terminal echoed the PIN:\n%s", term.String())
	}
}
