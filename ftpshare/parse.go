package ftpshare

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParsePortRange parses the --passive-ports value "LOW-HIGH".
func ParsePortRange(s string) (low, high int, err error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("passive port range %q: want LOW-HIGH, for example 50000-50100", s)
	}
	low, err = parsePort(lo)
	if err != nil {
		return 0, 0, fmt.Errorf("passive port range %q: low end: %w", s, err)
	}
	high, err = parsePort(hi)
	if err != nil {
		return 0, 0, fmt.Errorf("passive port range %q: high end: %w", s, err)
	}
	if low > high {
		return 0, 0, fmt.Errorf("passive port range %q: low end %d is above high end %d", s, low, high)
	}
	return low, high, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number from 1 to 65535", s)
	}
	return n, nil
}

// errSyntax is the error of a malformed PORT, EPRT or REST argument.
var errSyntax = errors.New("syntax error in argument")

// parsePORT parses the PORT argument "h1,h2,h3,h4,p1,p2".
func parsePORT(arg string) (netip.AddrPort, error) {
	fields := strings.Split(strings.TrimSpace(arg), ",")
	if len(fields) != 6 {
		return netip.AddrPort{}, errSyntax
	}
	var b [6]byte
	for i, f := range fields {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 8)
		if err != nil {
			return netip.AddrPort{}, errSyntax
		}
		b[i] = byte(n)
	}
	ip := netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
	return netip.AddrPortFrom(ip, uint16(b[4])<<8|uint16(b[5])), nil
}

// parseEPRT parses the EPRT argument of RFC 2428, "|1|10.0.0.1|5000|" or
// "|2|::1|5000|"; any printable delimiter may replace "|".
func parseEPRT(arg string) (netip.AddrPort, error) {
	if len(arg) < 2 || arg[0] < 33 || arg[0] > 126 {
		return netip.AddrPort{}, errSyntax
	}
	fields := strings.Split(arg, arg[:1])
	if len(fields) != 5 || fields[0] != "" || fields[4] != "" {
		return netip.AddrPort{}, errSyntax
	}
	ip, err := netip.ParseAddr(fields[2])
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, errSyntax
	}
	switch fields[1] {
	case "1":
		if !ip.Is4() {
			return netip.AddrPort{}, errSyntax
		}
	case "2":
		if !ip.Is6() {
			return netip.AddrPort{}, errSyntax
		}
	default:
		return netip.AddrPort{}, errUnknownFamily
	}
	port, err := strconv.ParseUint(fields[3], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, errSyntax
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// errUnknownFamily is the error of an EPRT or EPSV network other than 1
// (IPv4) or 2 (IPv6).
var errUnknownFamily = errors.New("network protocol not supported")

// parseRest parses the REST argument: a byte offset.
func parseRest(arg string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	if err != nil || n < 0 {
		return 0, errSyntax
	}
	return n, nil
}

// listPath returns the path argument of LIST, NLST or STAT, dropping the
// ls flags ("-a", "-la") that clients send out of habit. Flags do not change
// what is listed: hidden entries stay hidden.
func listPath(arg string) string {
	rest := strings.TrimLeft(arg, " ")
	for strings.HasPrefix(rest, "-") {
		flag, after, _ := strings.Cut(rest, " ")
		if !isFlag(flag) {
			break
		}
		rest = strings.TrimLeft(after, " ")
	}
	return rest
}

// isFlag reports whether s looks like "-l" or "-la": a dash and letters.
func isFlag(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	for _, c := range s[1:] {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
