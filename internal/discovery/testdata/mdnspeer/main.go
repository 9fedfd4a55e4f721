// Command mdnspeer is the other end of the discovery tests. They run it
// only inside network namespaces they create, never on the machine's own
// interfaces.
//
//	mdnspeer announce -instance NAME [-http ADDR:PORT] [-ftp ADDR:PORT]
//	mdnspeer browse -type _http._tcp -iface IFACE [-timeout 1s] [-6]
//	mdnspeer watch -iface IFACE [-for 30s]
//
// announce runs discovery.Announce until SIGTERM, then stops it. browse
// asks with github.com/hashicorp/mdns and prints what answered, watch
// prints every record multicast on the interface, one JSON object a line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"

	"example.com/share/internal/discovery"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: mdnspeer announce|browse|watch [flags]")
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "announce":
		err = announce(args)
	case "browse":
		err = browse(args)
	case "watch":
		err = watch(args)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

func announce(args []string) error {
	fs := flag.NewFlagSet("announce", flag.ExitOnError)
	instance := fs.String("instance", "", "instance name")
	httpAddr := fs.String("http", "", "HTTP listen address to announce")
	ftpAddr := fs.String("ftp", "", "FTP listen address to announce")
	fs.Parse(args)
	var services []discovery.Service
	for typ, addr := range map[string]string{"_http._tcp": *httpAddr, "_ftp._tcp": *ftpAddr} {
		if addr == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return err
		}
		services = append(services, discovery.Service{Type: typ, Addr: ap, TXT: []string{"path=/"}})
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	stop, err := discovery.Announce(*instance, services, nil)
	if err != nil {
		return err
	}
	fmt.Println("announcing")
	<-sig
	stop()
	fmt.Println("stopped")
	return nil
}

// found is one service instance a browse found.
type found struct {
	Instance string `json:"instance"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Addr     string `json:"addr"`
	Addr6    string `json:"addr6,omitempty"`
	TXT      string `json:"txt"`
}

func browse(args []string) error {
	fs := flag.NewFlagSet("browse", flag.ExitOnError)
	typ := fs.String("type", "_http._tcp", "service type")
	iface := fs.String("iface", "", "interface to ask on")
	timeout := fs.Duration("timeout", time.Second, "how long to listen for answers")
	over6 := fs.Bool("6", false, "ask over IPv6 instead of IPv4")
	fs.Parse(args)
	ifc, err := net.InterfaceByName(*iface)
	if err != nil {
		return err
	}
	entries := make(chan *mdns.ServiceEntry, 32)
	params := &mdns.QueryParam{
		Service: *typ, Domain: "local", Timeout: *timeout, Interface: ifc,
		Entries: entries, DisableIPv4: *over6, DisableIPv6: !*over6, Logger: log.New(io.Discard, "", 0),
	}
	if err := mdns.QueryContext(context.Background(), params); err != nil {
		return err
	}
	close(entries)
	enc := json.NewEncoder(os.Stdout)
	for e := range entries {
		f := found{Instance: firstLabel(e.Name), Host: e.Host, Port: e.Port, Addr: e.AddrV4.String(), TXT: e.Info}
		if e.AddrV6IPAddr != nil {
			f.Addr6 = e.AddrV6IPAddr.IP.String()
		}
		enc.Encode(f)
	}
	return nil
}

// heard is one record a watch saw.
type heard struct {
	Label string `json:"label"` // the first label of the owner name, unescaped
	Name  string `json:"name"`
	Type  string `json:"type"`
	TTL   uint32 `json:"ttl"`
	Port  uint16 `json:"port,omitempty"`
	Ptr   string `json:"ptr,omitempty"` // the first label a PTR points to
}

func watch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	iface := fs.String("iface", "", "interface to listen on")
	lasting := fs.Duration("for", 30*time.Second, "how long to listen")
	fs.Parse(args)
	ifc, err := net.InterfaceByName(*iface)
	if err != nil {
		return err
	}
	conn, err := net.ListenMulticastUDP("udp4", ifc, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353})
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(*lasting))
	fmt.Println(`{"label":"watching"}`)
	enc := json.NewEncoder(os.Stdout)
	buf := make([]byte, 9000)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil // the time is up
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) != nil || !m.Response {
			continue
		}
		for _, rr := range append(m.Answer, m.Extra...) {
			h := heard{Label: firstLabel(rr.Header().Name), Name: rr.Header().Name, Type: dns.TypeToString[rr.Header().Rrtype], TTL: rr.Header().Ttl}
			switch rr := rr.(type) {
			case *dns.SRV:
				h.Port = rr.Port
			case *dns.PTR:
				h.Ptr = firstLabel(rr.Ptr)
			}
			enc.Encode(h)
		}
	}
}

// firstLabel returns the first label of a domain name in presentation
// format, with its escapes undone.
func firstLabel(name string) string {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil || n == 0 || int(buf[0]) >= n {
		return name
	}
	return string(buf[1 : 1+int(buf[0])])
}
