// Package connlimit caps the connections a server holds: in total, per
// client (clientaddr.Key) and, for IPv6, per /64 network. Both servers use
// it, so they count clients and word their refusals alike.
package connlimit

import (
	"fmt"
	"net/netip"
	"sync"

	"example.com/share/internal/clientaddr"
)

// NetworkFactor is how many clients' worth of connections one IPv6 /64
// may hold together: a LAN's IPv6 hosts all share one /64, yet one host
// can pick a new address in it for every connection.
const NetworkFactor = 4

// Limiter counts the connections held. It is safe for concurrent use.
type Limiter struct {
	total, perClient, perNetwork int

	mu     sync.Mutex
	held   int
	client map[netip.Addr]int
	net    map[netip.Prefix]int
}

// New caps at total connections, perClient per client address and
// NetworkFactor*perClient per IPv6 /64 network.
func New(total, perClient int) *Limiter {
	return &Limiter{
		total: total, perClient: perClient, perNetwork: NetworkFactor * perClient,
		client: map[netip.Addr]int{}, net: map[netip.Prefix]int{},
	}
}

// Refusal says which cap a connection was refused by; its text is what
// the client is told.
type Refusal struct {
	scope string // "", " from your address", " from your /64 network"
	cap   int
}

// Error implements error.
func (r *Refusal) Error() string {
	return fmt.Sprintf("Too many connections%s (%d); try again later.", r.scope, r.cap)
}

// Take reserves a place for a connection from ip. It returns a function
// that gives the place back (calling it again does nothing), or the
// Refusal of a full cap.
func (l *Limiter) Take(ip netip.Addr) (release func(), err error) {
	key := clientaddr.Key(ip)
	network, isV6 := clientaddr.Network(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.held >= l.total:
		return nil, &Refusal{"", l.total}
	case l.client[key] >= l.perClient:
		return nil, &Refusal{" from your address", l.perClient}
	case isV6 && l.net[network] >= l.perNetwork:
		return nil, &Refusal{" from your /64 network", l.perNetwork}
	}
	l.held++
	l.client[key]++
	if isV6 {
		l.net[network]++
	}
	return sync.OnceFunc(func() { l.give(key, network, isV6) }), nil
}

func (l *Limiter) give(key netip.Addr, network netip.Prefix, isV6 bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held--
	if l.client[key]--; l.client[key] <= 0 {
		delete(l.client, key)
	}
	if !isV6 {
		return
	}
	if l.net[network]--; l.net[network] <= 0 {
		delete(l.net, network)
	}
}

// String reports the connections held, for tests and logs.
func (l *Limiter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d/%d connections", l.held, l.total)
}
