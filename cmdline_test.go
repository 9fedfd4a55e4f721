package main

import (
	"os"
	"strings"
	"testing"
)

func TestOptionsAfterTheFolder(t *testing.T) {
	dir := shareFolder(t)
	r := startShare(t, nil, dir, "--no-ftp", "--http", "127.0.0.1:0", "--log-format=json")
	if body := get(t, r.url+"hello.txt"); body != "hello\n" {
		t.Errorf("GET hello.txt = %q", body)
	}
	if r.ftp != "" {
		t.Errorf("--no-ftp after the folder ignored: banner shows %s", r.ftp)
	}
	r.stop(t, os.Interrupt)
	if !strings.HasPrefix(r.stderr.String(), "{") {
		t.Errorf("--log-format=json after the folder ignored: %s", r.stderr)
	}
}

func TestDoubleDashEndsOptions(t *testing.T) {
	code, _, stderr := runShare(t, nil, "--no-ftp", "--", "--no-such-folder")
	if code != 1 || !strings.Contains(stderr, `folder "--no-such-folder" does not exist`) {
		t.Errorf("share -- --no-such-folder: exit %d, %q", code, stderr)
	}
}

func TestPlainWordsForMistakes(t *testing.T) {
	dir := shareFolder(t)
	for _, tc := range []struct {
		env  []string
		args []string
		code int
		want string
	}{
		{nil, []string{"8080"}, 1, "use --http 8080"},
		{nil, []string{"localhost:8080"}, 1, "to listen on localhost:8080, use --http localhost:8080"},
		{nil, []string{dir, "8080"}, 2, "got 2 arguments; to serve on port 8080, use --http 8080"},
		{nil, []string{"--port", "8080", dir}, 2, "there is no option --port; did you mean --http PORT"},
		{nil, []string{"-p", "8080", dir}, 2, "there is no option -p; did you mean --http PORT"},
		{nil, []string{dir, "--nohttp"}, 2, "did you mean --no-http?"},
		{nil, []string{"--ftp-idle", "5", dir}, 2, `--ftp-idle "5" is not a duration; give a number with a unit, such as 30s, 5m or 1h (5s for 5 seconds)`},
		{nil, []string{"--hidden=maybe", dir}, 2, "is not a yes/no value; use true or false"},
		{[]string{"SHARE_HIDDEN=maybe"}, []string{dir}, 2, `SHARE_HIDDEN="maybe" is not a yes/no value`},
		{[]string{"SHARE_FTP_IDLE=soon"}, []string{dir}, 2, `SHARE_FTP_IDLE "soon" is not a duration`},
		{nil, []string{"--reader", "Yubikey", dir}, 2, "--reader needs --encrypt or --sign"},
		{nil, []string{dir, "--armor"}, 2, "--armor needs --encrypt or --recipient or --sign"},
		{nil, []string{"--pin-file", "pin.txt", dir}, 2, "--pin-file needs --sign"},
		{nil, []string{"--uid", "Ada <ada@example.org>", dir}, 2, "--uid needs --sign"},
		{nil, []string{"--sign=false", "--pin-file", "pin.txt", dir}, 2, "--pin-file needs --sign"},
		{nil, []string{dir, "--no-ftp", "--passive-ports", "50000-50100"}, 2, "--passive-ports is for FTP, which --no-ftp turns off"},
		{nil, []string{dir, "--no-ftp", "--ftp-idle", "1m"}, 2, "--ftp-idle is for FTP, which --no-ftp turns off"},
		{nil, []string{dir, "--no-http", "--http", "8080"}, 2, "--http is for HTTP, which --no-http turns off"},
		{[]string{"SHARE_NO_FTP=1"}, []string{dir, "--ftp", ":2222"}, 2, "--ftp is for FTP, which --no-ftp (SHARE_NO_FTP is set) turns off"},
		{nil, []string{dir, "--http"}, 2, "--http needs a value"},
		{nil, []string{dir, "--http", "::1:8080"}, 2, "an IPv6 address goes in brackets: [::1]:8080"},
	} {
		code, _, stderr := runShare(t, tc.env, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v share %q: exit %d, stderr %q; want exit %d and %q", tc.env, tc.args, code, stderr, tc.code, tc.want)
		}
		for _, jargon := range []string{"strconv", "parse error", "flag provided but not defined"} {
			if strings.Contains(stderr, jargon) {
				t.Errorf("share %q: library words in %q", tc.args, stderr)
			}
		}
	}
}

func TestVersionOneFormat(t *testing.T) {
	_, a, _ := runShare(t, nil, "version")
	_, b, _ := runShare(t, nil, "--version")
	if a != b || !strings.HasPrefix(a, "share ") || strings.Count(a, "\n") != 1 {
		t.Errorf("share version %q, share --version %q: want one line, the same", a, b)
	}
}

func TestHelpGroupsOptions(t *testing.T) {
	code, out, _ := runShare(t, nil, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	last := -1
	for _, heading := range []string{"Serving:", "FTP:", "Encryption:", "Discovery:", "Output:", "Examples:"} {
		i := strings.Index(out, "\n"+heading+"\n")
		if i < 0 || i < last {
			t.Errorf("--help lacks %q, or has it out of order:\n%s", heading, out)
		}
		last = i
	}
	for _, noise := range []string{"(default: false)", "GLOBAL OPTIONS", "5m0s"} {
		if strings.Contains(out, noise) {
			t.Errorf("--help shows %q", noise)
		}
	}
	if !strings.Contains(out, "HTTP answers requests for it") {
		t.Error("--help does not say that --public-host is a name HTTP answers to")
	}
	if !strings.HasSuffix(out, "\n") {
		t.Error("--help does not end its last line")
	}
}
