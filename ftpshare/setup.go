package ftpshare

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	ftp "goftp.io/server/v2"
)

func cmdPasv(s *Server, _ *ftp.Session, st *session, _ string) {
	if st.epsvAll {
		st.conn.reply(503, "EPSV ALL was sent: use EPSV.")
		return
	}
	if !st.conn.local.Is4() {
		st.conn.reply(425, "PASV works over IPv4 only; use EPSV.")
		return
	}
	announce := st.conn.local
	if s.public.IsValid() {
		announce = s.public
	}
	port, ok := openPassive(s, st)
	if !ok {
		return
	}
	a := announce.As4()
	st.conn.reply(227, fmt.Sprintf("Entering Passive Mode (%d,%d,%d,%d,%d,%d).",
		a[0], a[1], a[2], a[3], port>>8, port&0xFF))
}

func cmdEpsv(s *Server, _ *ftp.Session, st *session, arg string) {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "ALL":
		st.epsvAll = true
		st.conn.reply(200, "EPSV ALL accepted.")
		return
	case "", familyOf(st.conn.local):
	case "1", "2":
		st.conn.reply(522, "Network protocol not supported, use ("+familyOf(st.conn.local)+").")
		return
	default:
		st.conn.reply(501, "EPSV takes no argument, ALL, 1 or 2.")
		return
	}
	if port, ok := openPassive(s, st); ok {
		st.conn.reply(229, fmt.Sprintf("Entering Extended Passive Mode (|||%d|).", port))
	}
}

// openPassive opens the session's passive listener, answering 425 when
// no port is free or the client's address holds its share of them.
func openPassive(s *Server, st *session) (int, bool) {
	port, err := st.listenPassive(s.low, s.high, s.pasvWait)
	if errors.Is(err, errPassiveQuota) {
		s.log.Warn("ftp passive port refused: quota", "conn", st.conn.id, "client", st.conn.peer, "quota", s.pasvQuota)
		st.conn.reply(425, fmt.Sprintf("Too many passive ports waiting for your address (at most %d); "+
			"connect to them or close other sessions, then try again.", s.pasvQuota))
		return 0, false
	}
	if err != nil {
		s.log.Warn("ftp passive port failed", "conn", st.conn.id, "client", st.conn.peer, "err", err)
		st.conn.reply(425, "Cannot open a passive port; try again later.")
		return 0, false
	}
	return port, true
}

// familyOf is the RFC 2428 number of an address family: 1 IPv4, 2 IPv6.
func familyOf(ip netip.Addr) string {
	if ip.Is4() {
		return "1"
	}
	return "2"
}

func cmdPort(s *Server, _ *ftp.Session, st *session, arg string) {
	if st.epsvAll {
		st.conn.reply(503, "EPSV ALL was sent: use EPSV.")
		return
	}
	target, err := parsePORT(arg)
	if err != nil {
		st.conn.reply(501, "PORT wants h1,h2,h3,h4,p1,p2.")
		return
	}
	setActive(s, st, "PORT", target)
}

func cmdEprt(s *Server, _ *ftp.Session, st *session, arg string) {
	if st.epsvAll {
		st.conn.reply(503, "EPSV ALL was sent: use EPSV.")
		return
	}
	target, err := parseEPRT(arg)
	switch {
	case errors.Is(err, errUnknownFamily):
		st.conn.reply(522, "Network protocol not supported, use ("+familyOf(st.conn.local)+").")
		return
	case err != nil:
		st.conn.reply(501, "EPRT wants |1|address|port| or |2|address|port|.")
		return
	}
	setActive(s, st, "EPRT", target)
}

// setActive accepts a PORT/EPRT target only at the client's own address
// and an unprivileged port: anything else would let the server connect to
// third parties (FTP bounce) or scan ports for the client.
func setActive(s *Server, st *session, cmd string, target netip.AddrPort) {
	if target.Addr().Unmap() != st.conn.peer || target.Port() < 1024 {
		s.log.Warn("ftp active connection refused", "conn", st.conn.id, "client", st.conn.peer,
			"cmd", cmd, "target", target)
		st.reset()
		st.conn.reply(504, cmd+" is allowed only to your own address and a port of 1024 or more.")
		return
	}
	st.setActive(target)
	st.conn.reply(200, cmd+" command successful.")
}
