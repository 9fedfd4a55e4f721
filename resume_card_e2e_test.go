//go:build linux && cgo

package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.com/share/internal/cardtest"
)

// TestResumedDownloadDecryptsThroughTheCard: share --encrypt with the
// virtual card's RSA key (the session key packet share makes itself); a
// curl download cut and resumed, and an lftp one resumed over FTP,
// decrypt through the card to the file.
func TestResumedDownloadDecryptsThroughTheCard(t *testing.T) {
	cardtest.Start(t)
	owner := cardtest.NewGnuPG(t, true)
	owner.GenerateOnCard(cardtest.RSA, "owner@example.org")
	dir, config := t.TempDir(), t.TempDir()
	plain := make([]byte, 8<<20)
	rand.Read(plain)
	os.WriteFile(filepath.Join(dir, "card.bin"), plain, 0o644)
	env := configEnv(config)
	r := startShare(t, env, append(append([]string{"--encrypt"}, loopbackArgs...), dir)...)

	work := t.TempDir()
	out := filepath.Join(work, "http")
	curlCut(t, out, r.url+"card.bin.gpg")
	runTool(t, work, nil, "curl", "-sS", "--fail", "-C", "-", "-o", out, r.url+"card.bin.gpg")
	msg, _ := os.ReadFile(out)
	expectDecrypts(t, owner, msg, plain)

	ftpOut := filepath.Join(work, "ftp")
	os.WriteFile(ftpOut, msg[:len(msg)/2], 0o644)
	runTool(t, work, nil, "lftp", "-c", "set net:max-retries 1; open "+strings.TrimSuffix(r.ftp, "/")+"; get -c card.bin.gpg -o "+ftpOut)
	if got, _ := os.ReadFile(ftpOut); !bytes.Equal(got, msg) {
		t.Fatal("lftp get -c gave other bytes than the HTTP download")
	}
}
