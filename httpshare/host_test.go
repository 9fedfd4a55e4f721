package httpshare

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestHostCheck(t *testing.T) {
	name, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	short, _, _ := strings.Cut(strings.ToLower(name), ".")
	h := newHostCheck("share.example.net")
	for host, want := range map[string]bool{
		"":                           true,
		"192.168.1.23:8000":          true,
		"192.168.1.23":               true,
		"[::1]:8000":                 true,
		"[fe80::1%25eth0]:8000":      true,
		"localhost:8000":             true,
		"LOCALHOST.":                 true,
		short + ":8000":              true,
		short + ".local:8000":        true,
		short + ".office.example":    true,
		"share.example.net:8000":     true,
		"rebind.attacker.example":    false,
		"rebind.attacker.example:1":  false,
		"localhost.attacker.example": false,
		"x" + short + ".local":       false,
	} {
		if got := h.allowed(host); got != want {
			t.Errorf("allowed(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestRebindingRefused asks a running server for the share under a
// foreign name, as a rebound page in a browser would.
func TestRebindingRefused(t *testing.T) {
	ts := startFixture(t)
	for host, want := range map[string]int{
		"rebind.attacker.example": http.StatusMisdirectedRequest,
		"127.0.0.1":               http.StatusOK,
		"localhost":               http.StatusOK,
	} {
		for _, path := range []string{"/", "/?format=json", "/?zip", "/hello.txt"} {
			req, err := http.NewRequest("GET", ts.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("Host %s, GET %s: %d, want %d", host, path, resp.StatusCode, want)
			}
			if want != http.StatusOK && strings.Contains(string(body), "hello") {
				t.Errorf("Host %s, GET %s: the share leaked: %q", host, path, body)
			}
		}
	}
}
