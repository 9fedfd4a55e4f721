package discovery

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

const mdnsPort = 5353

var (
	mdnsGroup4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort}
	mdnsGroup6 = &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: mdnsPort}
)

// A transport is the mDNS socket of one IP version. Every packet is read
// and written with the index of its interface, which decides what share
// answers and where its answers go out.
type transport interface {
	// read returns the next packet's length, interface and sender.
	read(buf []byte) (n, ifIndex int, from *net.UDPAddr, err error)
	// send writes b out of the interface to, or to the mDNS group when to
	// is nil.
	send(b []byte, ifIndex int, to *net.UDPAddr) error
	// join joins the mDNS group on the interface.
	join(ifc *net.Interface) error
	close() error
	String() string
}

// listenMDNS opens port 5353 of the network ("udp4" or "udp6") on every
// address, shared with other mDNS responders of the machine.
func listenMDNS(network, addr string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: shareMDNSPort}
	pc, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, fmt.Errorf("cannot open the mDNS port %d (%s): %w", mdnsPort, network, err)
	}
	return pc, nil
}

// transport4 is mDNS over IPv4, group 224.0.0.251.
type transport4 struct{ pc *ipv4.PacketConn }

func openTransport4() (transport, error) {
	c, err := listenMDNS("udp4", fmt.Sprintf("0.0.0.0:%d", mdnsPort))
	if err != nil {
		return nil, err
	}
	pc := ipv4.NewPacketConn(c)
	if err := setUp(pc.SetControlMessage(ipv4.FlagInterface, true), pc.SetMulticastTTL(255)); err != nil {
		c.Close()
		return nil, err
	}
	return transport4{pc}, nil
}

func (t transport4) read(buf []byte) (int, int, *net.UDPAddr, error) {
	n, cm, src, err := t.pc.ReadFrom(buf)
	return n, ifIndex4(cm), udpAddr(src), err
}

func ifIndex4(cm *ipv4.ControlMessage) int {
	if cm == nil {
		return 0
	}
	return cm.IfIndex
}

func (t transport4) send(b []byte, ifIndex int, to *net.UDPAddr) error {
	if to == nil {
		to = mdnsGroup4
	}
	_, err := t.pc.WriteTo(b, &ipv4.ControlMessage{IfIndex: ifIndex}, to)
	return err
}

func (t transport4) join(ifc *net.Interface) error { return t.pc.JoinGroup(ifc, mdnsGroup4) }
func (t transport4) close() error                  { return t.pc.Close() }
func (t transport4) String() string                { return "IPv4" }

// transport6 is mDNS over IPv6, group ff02::fb.
type transport6 struct{ pc *ipv6.PacketConn }

func openTransport6() (transport, error) {
	c, err := listenMDNS("udp6", fmt.Sprintf("[::]:%d", mdnsPort))
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(c)
	if err := setUp(pc.SetControlMessage(ipv6.FlagInterface, true), pc.SetMulticastHopLimit(255)); err != nil {
		c.Close()
		return nil, err
	}
	return transport6{pc}, nil
}

func (t transport6) read(buf []byte) (int, int, *net.UDPAddr, error) {
	n, cm, src, err := t.pc.ReadFrom(buf)
	return n, ifIndex6(cm), udpAddr(src), err
}

func ifIndex6(cm *ipv6.ControlMessage) int {
	if cm == nil {
		return 0
	}
	return cm.IfIndex
}

func (t transport6) send(b []byte, ifIndex int, to *net.UDPAddr) error {
	if to == nil {
		to = mdnsGroup6
	}
	_, err := t.pc.WriteTo(b, &ipv6.ControlMessage{IfIndex: ifIndex}, to)
	return err
}

func (t transport6) join(ifc *net.Interface) error { return t.pc.JoinGroup(ifc, mdnsGroup6) }
func (t transport6) close() error                  { return t.pc.Close() }
func (t transport6) String() string                { return "IPv6" }

// setUp returns the first error of the socket settings.
func setUp(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("cannot set up the mDNS socket: %w", err)
		}
	}
	return nil
}

// udpAddr is the sender of a packet, or nil.
func udpAddr(a net.Addr) *net.UDPAddr {
	u, _ := a.(*net.UDPAddr)
	return u
}
