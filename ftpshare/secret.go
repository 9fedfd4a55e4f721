package ftpshare

import (
	"crypto/subtle"
	"net/netip"
	"sync"
	"time"
)

// With Options.Secret, anonymous login is off: any user name logs in
// with the secret as password. A wrong password is answered after
// failDelay, and a client (clientaddr.Key) that fails maxFailures times
// within lockout is refused for lockout after its last failure,
// whatever it sends.
const (
	maxFailures     = 10
	lockout         = time.Minute
	failDelay       = 500 * time.Millisecond
	maxFailing      = 4096 // clients with failures remembered at once
	lockedOutReason = "Too many failed logins from your address; try again in a minute."
)

// loginGuard remembers failed logins per client.
type loginGuard struct {
	mu    sync.Mutex
	fails map[netip.Addr]*strikes
}

// strikes are one client's failed logins, forgotten at expires: a
// minute after the first, or after the one that locked it out.
type strikes struct {
	n       int
	expires time.Time
}

func newLoginGuard() *loginGuard { return &loginGuard{fails: map[netip.Addr]*strikes{}} }

// lockedOut reports whether key has failed too often and must wait.
func (g *loginGuard) lockedOut(key netip.Addr, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.fails[key]
	if st != nil && !now.Before(st.expires) {
		delete(g.fails, key)
		return false
	}
	return st != nil && st.n >= maxFailures
}

// fail counts a failed login of key.
func (g *loginGuard) fail(key netip.Addr, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.fails[key]
	if st == nil || !now.Before(st.expires) {
		if len(g.fails) >= maxFailing {
			g.forgetOld(now)
		}
		st = &strikes{expires: now.Add(lockout)}
		g.fails[key] = st
	}
	st.n++
	if st.n == maxFailures {
		st.expires = now.Add(lockout)
	}
}

// forgetOld drops expired records, or all when none has expired: memory
// stays bounded even under failures from many addresses at once.
func (g *loginGuard) forgetOld(now time.Time) {
	for k, st := range g.fails {
		if !now.Before(st.expires) {
			delete(g.fails, k)
		}
	}
	if len(g.fails) >= maxFailing {
		clear(g.fails)
	}
}

// checkSecret compares a password with the secret in constant time. A
// failure is counted at once, so guesses sent side by side on several
// connections are counted before their answers, then answered after
// failDelay.
func (s *Server) checkSecret(peer netip.Addr, pass string) bool {
	if subtle.ConstantTimeCompare([]byte(pass), []byte(s.secret)) == 1 {
		return true
	}
	s.guard.fail(clientKey(peer), time.Now())
	time.Sleep(s.failDelay)
	return false
}

// welcome is the greeting, saying how to log in.
func (s *Server) welcome() string {
	msg := "share: read-only FTP. "
	if s.tls != nil {
		msg += "TLS required (AUTH TLS). "
	}
	if s.secret != "" {
		return msg + "Log in with any name and the password from the link."
	}
	return msg + "Log in as anonymous."
}
