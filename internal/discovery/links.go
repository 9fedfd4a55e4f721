package discovery

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

// A link is one interface the share is announced on, with the records of
// every service reachable through it.
type link struct {
	ifc   net.Interface
	zones []*zone
}

// A zone is one service's records as seen from one interface.
type zone struct {
	records  *mdns.MDNSService
	names    map[string]string // wire-form key of a name → the spelling records answers to
	service  string            // the service type's full name, "_http._tcp.local."
	instance string            // the instance's full name
}

// ifaceAddrs is an interface with its addresses.
type ifaceAddrs struct {
	ifc   net.Interface
	addrs []netip.Addr
}

// plan decides on which interfaces each service is announced, and with
// which addresses.
func plan(instance, host string, services []Service) ([]*link, error) {
	ifaces, err := systemInterfaces()
	if err != nil {
		return nil, err
	}
	byIndex := map[int]*link{}
	var links []*link
	for _, s := range services {
		for _, ia := range selectInterfaces(s.Addr.Addr(), ifaces) {
			z, err := newZone(instance, host, s, ia.addrs)
			if err != nil {
				return nil, err
			}
			l := byIndex[ia.ifc.Index]
			if l == nil {
				l = &link{ifc: ia.ifc}
				byIndex[ia.ifc.Index] = l
				links = append(links, l)
			}
			l.zones = append(l.zones, z)
		}
	}
	if len(links) == 0 {
		return nil, errors.New("no network interface to announce on: share listens on loopback only, or no interface is up and multicast-capable")
	}
	return links, nil
}

// systemInterfaces lists the up, multicast-capable, non-loopback
// interfaces with their addresses.
func systemInterfaces() ([]ifaceAddrs, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("cannot list the network interfaces: %w", err)
	}
	var out []ifaceAddrs
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagMulticast == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		ia := ifaceAddrs{ifc: ifc}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				ia.addrs = append(ia.addrs, p.Addr())
			}
		}
		out = append(out, ia)
	}
	return out, nil
}

// selectInterfaces picks, from the candidate interfaces, those a listener
// on addr is reachable through, each with the addresses to announce: all of
// an interface's addresses for an unspecified addr (IPv4 ones only for
// 0.0.0.0, as such a listener takes no IPv6), otherwise addr alone on the
// interface that holds it.
func selectInterfaces(addr netip.Addr, candidates []ifaceAddrs) []ifaceAddrs {
	addr = addr.Unmap()
	var out []ifaceAddrs
	for _, c := range candidates {
		var keep []netip.Addr
		for _, a := range c.addrs {
			switch {
			case a.IsLoopback():
			case addr.IsUnspecified() && (addr.Is6() || a.Is4()):
				keep = append(keep, a)
			case a == addr:
				keep = append(keep, a)
			}
		}
		if len(keep) > 0 {
			out = append(out, ifaceAddrs{ifc: c.ifc, addrs: keep})
		}
	}
	return out
}

// newZone builds the records of one service on one interface.
func newZone(instance, host string, s Service, addrs []netip.Addr) (*zone, error) {
	ips := make([]net.IP, len(addrs))
	for i, a := range addrs {
		ips[i] = a.AsSlice()
	}
	txt := s.TXT
	if len(txt) == 0 {
		txt = []string{""} // a TXT record may not be empty (RFC 6763, 6.1)
	}
	hostName := host + ".local."
	label := escapeLabel(truncateUTF8(instance, maxLabel))
	records, err := mdns.NewMDNSService(label, s.Type, "local.", hostName, int(s.Addr.Port()), ips, txt)
	if err != nil {
		return nil, fmt.Errorf("cannot build the mDNS records of %s: %w", s.Type, err)
	}
	serviceName := strings.Trim(s.Type, ".") + ".local."
	z := &zone{records: records, service: serviceName, instance: label + "." + serviceName, names: map[string]string{}}
	for _, n := range []string{"_services._dns-sd._udp.local.", serviceName, z.instance, hostName} {
		k, err := nameKey(n)
		if err != nil {
			return nil, fmt.Errorf("cannot announce %q: %w", n, err)
		}
		z.names[k] = n
	}
	return z, nil
}

// escapeLabel writes a free-form name as one label of a domain name in the
// presentation format the DNS library reads: dots and backslashes escaped.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `.`, `\.`).Replace(s)
}

// nameKey is the form under which two spellings of a domain name compare
// equal: its wire form with ASCII letters folded, as DNS compares names
// without regard to case (RFC 4343) and escapes may spell the same byte
// differently.
func nameKey(name string) (string, error) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return "", err
	}
	return string(bytes.ToLower(buf[:n])), nil
}

// answer returns the records of the link's services that answer q.
func (l *link) answer(q dns.Question) []dns.RR {
	k, err := nameKey(q.Name)
	if err != nil {
		return nil
	}
	var out []dns.RR
	for _, z := range l.zones {
		name, ok := z.names[k]
		if !ok {
			continue
		}
		out = appendUnique(out, z.records.Records(dns.Question{Name: name, Qtype: q.Qtype, Qclass: dns.ClassINET})...)
	}
	return out
}

// announcement returns every record of the link, to send unsolicited.
func (l *link) announcement() []dns.RR {
	var out []dns.RR
	for _, z := range l.zones {
		out = appendUnique(out, z.records.Records(dns.Question{Name: "_services._dns-sd._udp.local.", Qtype: dns.TypePTR})...)
		out = appendUnique(out, z.serviceRecords()...)
	}
	return out
}

// goodbye returns the records that die with the share: each service's
// instance pointer, SRV and TXT. The host's addresses and the service type
// enumeration are shared with whatever else this machine announces, so
// they are left to expire.
func (l *link) goodbye() []dns.RR {
	var out []dns.RR
	for _, z := range l.zones {
		for _, rr := range z.serviceRecords() {
			switch rr.(type) {
			case *dns.PTR, *dns.SRV, *dns.TXT:
				out = appendUnique(out, rr)
			}
		}
	}
	return out
}

// serviceRecords is the answer to a browse for the zone's service type:
// the instance pointer with its SRV, TXT and addresses.
func (z *zone) serviceRecords() []dns.RR {
	return z.records.Records(dns.Question{Name: z.service, Qtype: dns.TypePTR})
}

// appendUnique appends the records not already in rrs.
func appendUnique(rrs []dns.RR, more ...dns.RR) []dns.RR {
	for _, m := range more {
		dup := false
		for _, r := range rrs {
			if dns.IsDuplicate(r, m) {
				dup = true
				break
			}
		}
		if !dup {
			rrs = append(rrs, m)
		}
	}
	return rrs
}
