//go:build linux

package main

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.com/share/internal/cardtest"
	"example.com/share/internal/testutil"
)

// TestStaticBuildWithoutCgo: CGO_ENABLED=0 makes a static binary that
// serves --recipient encryption GnuPG decrypts over HTTP and FTP, and
// answers every use of the card with one line and exit code 1.
func TestStaticBuildWithoutCgo(t *testing.T) {
	bin := testutil.BuildShareWith(t, "CGO_ENABLED=0")
	checkStatic(t, bin)
	if code, out, _ := runBin(t, bin, nil, "version"); code != 0 || !strings.Contains(out, "(no smartcard support)") {
		t.Errorf("share version = %d %q, want it to say it has no smartcard support", code, out)
	}

	t.Run("recipient", func(t *testing.T) {
		g := cardtest.NewGnuPG(t, false)
		key := g.GenerateSoftware("static@example.org", "ed25519", "cv25519")
		dir, files := cardFolder(t)
		r := startBin(t, bin, nil, append(append([]string{"--recipient", key}, loopbackArgs...), dir)...)
		checkLoopback(t, r.url)
		for _, name := range []string{"notes.txt", "data set.bin", "sub/inside.bin"} {
			expectDecrypts(t, g, download(t, r.url+pathEscape(name+".gpg")), files[name])
		}
		if r.ftp == "" {
			t.Fatal("share printed no FTP URL")
		}
		expectDecrypts(t, g, curlFTP(t, r.ftp+pathEscape("data set.bin.gpg")), files["data set.bin"])
	})

	key := cardtest.NewGnuPG(t, false).GenerateSoftware("other@example.org", "ed25519", "cv25519")
	serveArgs := func(args ...string) []string { return append(append(args, loopbackArgs...), t.TempDir()) }
	for name, args := range map[string][]string{
		"card":                  {"card"},
		"card --reader":         {"--reader", "Some Reader", "card"},
		"--encrypt":             serveArgs("--encrypt"),
		"--encrypt --recipient": serveArgs("--encrypt", "--recipient", key),
		"--reader --encrypt":    serveArgs("--reader", "Some Reader", "--encrypt", "--recipient", key),
		"--sign":                serveArgs("--sign"), // said before any PIN is asked for
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runBin(t, bin, nil, args...)
			expectOneLineError(t, code, stderr, "has no smartcard support")
			expectOneLineError(t, code, stderr, "CGO_ENABLED=1")
			if stdout != "" {
				t.Errorf("share %q printed %q before failing", args, stdout)
			}
		})
	}
}

// checkStatic fails unless bin is an ELF file that needs no dynamic
// loader and no shared library.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header: not static", filepath.Base(bin), p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v)", filepath.Base(bin), libs, err)
	}
	if st, err := os.Stat(bin); err == nil {
		t.Logf("static binary: %d bytes", st.Size())
	}
}
