// Package hostnames holds this machine's names: the one list both the
// HTTP Host check and the mDNS announcement take them from, so the server
// answers to exactly the names it announces.
package hostnames

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxLabel is the longest DNS label, in bytes.
const maxLabel = 63

// lookupWait bounds the look-up of the machine's full name at start-up.
const lookupWait = 500 * time.Millisecond

// Names are this machine's names, lower case, without a trailing dot.
type Names struct {
	Host  string // os.Hostname, as the system gives it
	Short string // its first label
	FQDN  string // the canonical name the resolver gives Host; "" if none
	MDNS  string // the single label announced by mDNS as MDNS+".local"
}

// Local returns this machine's names. The full name is looked up (hosts
// file, then DNS) once per process, for at most half a second; without it
// the others stand.
var Local = sync.OnceValues(local)

func local() (Names, error) {
	h, err := os.Hostname()
	if err != nil {
		return Names{}, fmt.Errorf("cannot tell this machine's name: %w", err)
	}
	n := Of(h)
	ctx, cancel := context.WithTimeout(context.Background(), lookupWait)
	defer cancel()
	if cname, err := net.DefaultResolver.LookupCNAME(ctx, n.Host); err == nil {
		if c := Normal(cname); c != n.Host && c != n.Short {
			n.FQDN = c
		}
	}
	return n, nil
}

// Of gives the names derived from the host name h, without look-ups.
func Of(h string) Names {
	host := Normal(h)
	short, _, _ := strings.Cut(host, ".")
	return Names{Host: host, Short: short, MDNS: MDNSLabel(h)}
}

// All lists the names a client may use for this machine: Host, Short,
// FQDN and MDNS+".local", without empty or repeated ones.
func (n Names) All() []string {
	var out []string
	for _, s := range []string{n.Host, n.Short, n.FQDN, Normal(n.MDNS) + ".local"} {
		if s != "" && s != ".local" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MDNSLabel is host name h as a single mDNS host label: its first label,
// with characters a host name may not hold replaced by '-' ("ana_pc"
// becomes "ana-pc"), cut to 63 bytes; "share" when nothing is left.
func MDNSLabel(h string) string {
	h, _, _ = strings.Cut(h, ".")
	h = strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, h)
	if h == "" {
		h = "share"
	}
	return TruncateUTF8(h, maxLabel)
}

// Normal is a host name as names are compared: lower case, without a
// trailing dot.
func Normal(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// TruncateUTF8 cuts s to at most n bytes without splitting a character.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
