//go:build linux && cgo

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/cardtest"
)

// TestEncryptedDownloadsDecryptThroughTheCard: GnuPG creates keys on the
// virtual card, share --encrypt serves, and what comes over HTTP and FTP
// is decrypted by GnuPG through the card (and by an extra recipient
// alone) back to the exact bytes.
func TestEncryptedDownloadsDecryptThroughTheCard(t *testing.T) {
	for _, tc := range []struct {
		algo  string
		armor bool
	}{
		{cardtest.RSA, false},
		{cardtest.Cv25519, false},
		{cardtest.Cv25519, true},
	} {
		name := tc.algo
		if tc.armor {
			name += "/armor"
		}
		t.Run(name, func(t *testing.T) {
			cardtest.Start(t)
			owner := cardtest.NewGnuPG(t, true)
			owner.GenerateOnCard(tc.algo, "owner@example.org")
			other := cardtest.NewGnuPG(t, true)
			otherKey := other.GenerateSoftware("other@example.org", "ed25519", "cv25519")

			dir, files := cardFolder(t)
			args := append([]string{"--encrypt", "--recipient", otherKey}, loopbackArgs...)
			suffix := ".gpg"
			if tc.armor {
				args, suffix = append(args, "--armor"), ".asc"
			}
			// The banner names the card's key as gpg --list-keys does.
			r := startShare(t, []string{"GNUPGHOME=" + owner.Home}, append(args, dir)...)
			checkLoopback(t, r.url)
			if want := "<owner@example.org>, key " + owner.Fingerprint("owner@example.org"); !strings.Contains(r.banner, want) {
				t.Errorf("banner lacks %q:\n%s", want, r.banner)
			}

			listed := listSizes(t, r.url)
			if _, ok := listed["notes.txt"]; ok {
				t.Errorf("listing shows the plaintext name: %v", listed)
			}
			if status := statusOf(t, r.url+"notes.txt"); status != http.StatusNotFound {
				t.Errorf("plaintext name answered %d, want 404", status)
			}
			for _, name := range []string{"notes.txt", "data set.bin", "sub/inside.bin"} {
				msg := download(t, r.url+pathEscape(name+suffix))
				if base := filepath.Base(name); !strings.Contains(name, "/") && listed[base+suffix] != int64(len(msg)) {
					t.Errorf("%s: listing says %d bytes, download gave %d", name, listed[base+suffix], len(msg))
				}
				if tc.armor && !bytes.HasPrefix(msg, []byte("-----BEGIN PGP MESSAGE-----")) {
					t.Errorf("%s: not armored", name)
				}
				expectDecrypts(t, owner, msg, files[name])
				expectDecrypts(t, other, msg, files[name])
			}
			if r.ftp != "" {
				msg := curlFTP(t, r.ftp+pathEscape("data set.bin"+suffix))
				expectDecrypts(t, owner, msg, files["data set.bin"])
				head := string(curlFTP(t, "-I", r.ftp+pathEscape("data set.bin"+suffix)))
				if want := "Content-Length: " + strconv.FormatInt(listed["data set.bin"+suffix], 10); !strings.Contains(head, want) {
					t.Errorf("FTP SIZE: curl -I says %q, want %q", head, want)
				}
				names := string(curlFTP(t, "--list-only", r.ftp))
				if !strings.Contains(names, "notes.txt"+suffix) || strings.Contains(names, "notes.txt\r") {
					t.Errorf("FTP NLST: %q", names)
				}
			} else {
				t.Error("share printed no FTP URL")
			}
		})
	}
}

// TestCardRemovedWhileServing: removing the card is logged, share keeps
// serving with the key it read, and the card decrypts once back.
func TestCardRemovedWhileServing(t *testing.T) {
	stack := cardtest.Start(t)
	owner := cardtest.NewGnuPG(t, true)
	owner.GenerateOnCard(cardtest.Cv25519, "owner@example.org")
	owner.Kill() // scdaemon would otherwise hold the card
	dir, files := cardFolder(t)
	r := startShare(t, []string{"GNUPGHOME=" + owner.Home}, append(append([]string{"--encrypt"}, loopbackArgs...), dir)...)
	checkLoopback(t, r.url)
	if want := ", key " + owner.Fingerprint("owner@example.org"); !strings.Contains(r.banner, want) {
		t.Errorf("banner lacks the primary key %q:\n%s", want, r.banner)
	}

	stack.Remove()
	waitForLog(t, r, "card removed")
	msg := download(t, r.url+"notes.txt.gpg")
	stack.Insert()
	waitForLog(t, r, "inserted again")
	expectDecrypts(t, owner, msg, files["notes.txt"])
	if code := r.stop(t, os.Interrupt); code != 0 {
		t.Errorf("exit code %d after the card came and went; stderr:\n%s", code, r.stderr)
	}
}

// TestShareCard prints the card like gpg --card-status.
func TestShareCard(t *testing.T) {
	cardtest.Start(t)
	owner := cardtest.NewGnuPG(t, true)
	fpr := owner.GenerateOnCard(cardtest.RSA, "owner@example.org")
	owner.Kill()
	code, out, errs := runShare(t, []string{"GNUPGHOME=" + owner.Home}, "card", "--reader", cardtest.ReaderName)
	if code != 0 {
		t.Fatalf("share card: exit %d: %s", code, errs)
	}
	grouped := strings.Join(splitEvery(fpr, 4), " ")
	// The primary key as gpg --list-keys shows it, with its user ID.
	primary := owner.Fingerprint("owner@example.org")
	for _, want := range []string{cardtest.ReaderName, "12345678", "3.4", "rsa2048", grouped, "General key info..: " + primary, "owner@example.org"} {
		if !strings.Contains(out, want) {
			t.Errorf("share card output lacks %q:\n%s", want, out)
		}
	}
}

// TestEncryptErrors: each way the card can be missing or wrong is one
// line on stderr naming the fix, and exit code 1.
func TestEncryptErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T)
		want  string
	}{
		{"no PC/SC service", func(t *testing.T) { cardtest.Lock(t) }, "start pcscd"},
		{"no reader", func(t *testing.T) { cardtest.Lock(t).StartPCSCD(false) }, "no smartcard reader"},
		{"no card", func(t *testing.T) { cardtest.Lock(t).StartPCSCD(true) }, "insert the OpenPGP card"},
		{"not OpenPGP", func(t *testing.T) { cardtest.Start(t, "-not-openpgp") }, "no OpenPGP application"},
		{"no key", func(t *testing.T) { cardtest.Start(t) }, "gpg --card-edit"},
		{"held exclusively", func(t *testing.T) {
			cardtest.Start(t)
			cardtest.NewGnuPG(t, false).Run(nil, "--card-status")
		}, "pcsc-shared"},
		{"fingerprint mismatch", func(t *testing.T) {
			s := cardtest.Start(t)
			g := cardtest.NewGnuPG(t, true)
			g.GenerateOnCard(cardtest.Cv25519, "owner@example.org")
			g.Kill()
			s.Remove()
			setDecryptionFingerprint(t, s.State, bytes.Repeat([]byte{0x42}, 20))
			s.Insert()
		}, "--recipient"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			args := append(append([]string{"--encrypt"}, loopbackArgs...), t.TempDir())
			code, _, stderr := runShare(t, nil, args...)
			expectOneLineError(t, code, stderr, tc.want)
		})
	}
}

func waitForLog(t *testing.T, r *running, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.stderr.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in share's log:\n%s", text, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

// setDecryptionFingerprint writes C8 in the virtual card's state file, as
// a card whose stored fingerprint no longer fits its key would hold.
func setDecryptionFingerprint(t *testing.T, path string, fpr []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	st["Objects"].(map[string]any)["C8"] = fpr // []byte marshals as base64, as the card stores it
	data, _ = json.Marshal(st)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
