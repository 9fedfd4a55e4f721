package httpshare

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"example.com/share/internal/hostnames"
)

// TestHostCheck matches names exactly, with the machine's names taken
// from hostnames as mDNS announces them ("ana_pc" is ana-pc.local).
func TestHostCheck(t *testing.T) {
	machine := hostnames.Of("ana_pc.office.example")
	machine.FQDN = "ana.corp.example"
	h := newHostCheck(machine, "share.example.net")
	for host, want := range map[string]bool{
		"":                               true,
		"192.168.1.23:8000":              true,
		"192.168.1.23":                   true,
		"[::1]:8000":                     true,
		"[fe80::1%25eth0]:8000":          true,
		"localhost:8000":                 true,
		"LOCALHOST.":                     true,
		"ana_pc:8000":                    true,
		"ana_pc.office.example":          true,
		"ana.corp.example.":              true,
		"ana-pc.local:8000":              true,
		"Ana-PC.local.":                  true,
		"share.example.net:8000":         true,
		"ana_pc.local":                   false,
		"ana-pc":                         false,
		"ana_pc.attacker.example":        false,
		"ana-pc.local.attacker.example":  false,
		"rebind.attacker.example":        false,
		"rebind.attacker.example:1":      false,
		"localhost.attacker.example":     false,
		"xana-pc.local":                  false,
		"share.example.net.attacker.com": false,
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
	short := hostnames.Of(mustHostname(t)).Short
	for host, want := range map[string]int{
		"rebind.attacker.example":         http.StatusMisdirectedRequest,
		short + ".attacker.example":       http.StatusMisdirectedRequest,
		short + ".local.attacker.example": http.StatusMisdirectedRequest,
		short:                             http.StatusOK,
		"127.0.0.1":                       http.StatusOK,
		"localhost":                       http.StatusOK,
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
	logs := ts.logs.String()
	for _, want := range []string{`"host":"` + short + `.attacker.example"`, "--public-host"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the refusal log lacks %s:\n%s", want, logs)
		}
	}
	warned := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "--public-host") && strings.Contains(line, `"rebind.attacker.example"`) {
			warned++
		}
	}
	if n := warned; n != 1 {
		t.Errorf("rebind.attacker.example refused 4 times, logged %d times; want once", n)
	}
}

func mustHostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
