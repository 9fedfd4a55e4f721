package ftpshare

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	ftp "goftp.io/server/v2"
)

// Explicit FTPS (RFC 4217). With Options.TLS the server requires it: a
// client sends AUTH TLS, then PBSZ 0 and PROT P, and every data
// connection is TLS too. Data connections need no TLS session reuse:
// they are already bound to the control connection's peer address.

// tlsHandshakeTimeout bounds a TLS handshake, on the control connection
// (and never past the login time limit) and on each data connection.
const tlsHandshakeTimeout = 15 * time.Second

// beforeTLS are the commands answered before AUTH TLS when TLS is
// required.
var beforeTLS = map[string]bool{"AUTH": true, "FEAT": true, "QUIT": true, "NOOP": true, "HELP": true}

// tlsFeatures are what FEAT adds under TLS.
var tlsFeatures = []string{"AUTH TLS", "PBSZ", "PROT"}

// addTLSCommands puts AUTH, PBSZ and PROT in the command table.
func addTLSCommands(table map[string]ftp.Command) {
	for _, c := range []command{
		{name: "AUTH", param: true, run: cmdAuth},
		{name: "PBSZ", param: true, run: cmdPbsz},
		{name: "PROT", param: true, run: cmdProt},
	} {
		table[c.name] = c
	}
}

// tlsAllows answers 530 and reports false for a command that needs the
// control connection secured first.
func (s *Server) tlsAllows(st *session, name string) bool {
	if s.tls == nil || st.conn.sec.Load() != nil || beforeTLS[name] {
		return true
	}
	st.conn.reply(530, "TLS required: send AUTH TLS first (this server takes explicit FTPS only).")
	return false
}

func cmdAuth(s *Server, _ *ftp.Session, st *session, arg string) {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "TLS", "TLS-C":
	default:
		st.conn.reply(504, "Only AUTH TLS is supported.")
		return
	}
	if st.conn.sec.Load() != nil {
		st.conn.reply(503, "TLS is already on.")
		return
	}
	if err := st.conn.startTLS(s.tls, s.tlsWait); err != nil {
		s.log.Info("ftp TLS handshake failed", "conn", st.conn.id, "client", st.conn.peer, "err", err)
		st.conn.Close()
		return
	}
	s.log.Debug("ftp control connection secured", "conn", st.conn.id, "client", st.conn.peer)
}

// startTLS answers 234 and runs the TLS handshake on the control
// connection, for at most wait and not past the login time limit. Bytes
// the client sent after AUTH TLS and before its handshake would be plain
// text posing as protected commands: they end the connection instead.
func (c *ctrlConn) startTLS(cfg *tls.Config, wait time.Duration) error {
	c.mu.Lock()
	pending := c.lines.pending() || len(c.out) > 0
	c.mu.Unlock()
	if pending {
		c.reply(503, "Commands after AUTH TLS must wait for the handshake; closing connection.")
		return fmt.Errorf("plain text after AUTH TLS")
	}
	c.reply(234, "AUTH TLS accepted; start the handshake.")
	tc := tls.Server(c.raw, cfg)
	deadline := time.Now().Add(wait)
	if !c.loggedIn.Load() && c.loginBy.Before(deadline) {
		deadline = c.loginBy
	}
	_ = c.raw.SetDeadline(deadline)
	defer c.raw.SetDeadline(time.Time{})
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake on the control connection: %w", err)
	}
	c.wmu.Lock()
	c.sec.Store(tc)
	c.wmu.Unlock()
	return nil
}

// stream is what commands are read from and replies written to: the TLS
// layer once there is one.
func (c *ctrlConn) stream() net.Conn {
	if tc := c.sec.Load(); tc != nil {
		return tc
	}
	return c.raw
}

func cmdPbsz(s *Server, _ *ftp.Session, st *session, arg string) {
	if st.conn.sec.Load() == nil {
		st.conn.reply(503, "Send AUTH TLS first.")
		return
	}
	// A stream protocol under TLS has no buffer size to agree on.
	st.conn.reply(200, "PBSZ=0")
}

func cmdProt(s *Server, _ *ftp.Session, st *session, arg string) {
	if st.conn.sec.Load() == nil {
		st.conn.reply(503, "Send AUTH TLS first.")
		return
	}
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "P":
		st.conn.protP.Store(true)
		st.conn.reply(200, "PROT P: data connections are TLS.")
	case "C":
		st.conn.reply(534, "PROT C refused: this server sends data over TLS only; use PROT P.")
	case "S", "E":
		st.conn.reply(536, "Only PROT P is supported.")
	default:
		st.conn.reply(504, "PROT takes P.")
	}
}

// dataAllowed answers 521 and reports false for a transfer under TLS
// before PROT P.
func (s *Server) dataAllowed(st *session) bool {
	if s.tls == nil || st.conn.protP.Load() {
		return true
	}
	st.reset()
	st.conn.reply(521, "Send PROT P first: data connections must be TLS.")
	return false
}

// protect runs the TLS handshake on a data connection after PROT P, once
// the 150 reply is out: Python's ftplib starts it only then, while curl
// starts as soon as it connects (its hello waits in the socket).
func (s *Server) protect(st *session, dc *net.TCPConn) (net.Conn, error) {
	if !st.conn.protP.Load() {
		return dc, nil
	}
	tc := tls.Server(dc, s.tls)
	_ = dc.SetDeadline(time.Now().Add(s.tlsWait))
	if err := tc.Handshake(); err != nil {
		dc.Close()
		return nil, fmt.Errorf("TLS handshake on the data connection: %w", err)
	}
	_ = dc.SetDeadline(time.Time{})
	return tc, nil
}
