package hostnames

import (
	"slices"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	for h, want := range map[string][]string{
		"ana_pc":                {"ana_pc", "ana-pc.local"},
		"Ada.Office.Example.":   {"ada.office.example", "ada", "ada.local"},
		"ada":                   {"ada", "ada.local"},
		"été":                   {"été", "-t-.local"},
		strings.Repeat("x", 70): {strings.Repeat("x", 70), strings.Repeat("x", 63) + ".local"},
	} {
		if got := Of(h).All(); !slices.Equal(got, want) {
			t.Errorf("Of(%q).All() = %q, want %q", h, got, want)
		}
	}
}

func TestMDNSLabel(t *testing.T) {
	for h, want := range map[string]string{
		"ana_pc": "ana-pc", "Ada.lan": "Ada", "": "share", ".x": "share", "a b": "a-b",
	} {
		if got := MDNSLabel(h); got != want {
			t.Errorf("MDNSLabel(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestLocal(t *testing.T) {
	n, err := Local()
	if err != nil {
		t.Fatal(err)
	}
	all := n.All()
	if n.Host == "" || !slices.Contains(all, n.Short) || !slices.Contains(all, strings.ToLower(n.MDNS)+".local") {
		t.Errorf("Local() = %+v, All() = %q", n, all)
	}
}
