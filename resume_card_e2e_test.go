//go:build linux && cgo

package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/cardtest"
	"example.com/share/internal/testutil"
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

// curlCut starts curl downloading url to out, slowly, and kills it once
// part of the file has come.
func curlCut(t *testing.T, out, url string) {
	t.Helper()
	testutil.NeedTool(t, "curl")
	cmd := exec.Command("curl", "-sS", "--limit-rate", "200K", "-o", out, url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if info, err := os.Stat(out); err == nil && info.Size() >= 100<<10 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("curl ended before it was cut: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			t.Fatal("curl received nothing in 30 s")
		}
	}
	cmd.Process.Kill()
	<-done
}
