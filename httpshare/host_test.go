package httpshare

import (
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
