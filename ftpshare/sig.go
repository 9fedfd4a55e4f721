package ftpshare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	ftp "goftp.io/server/v2"

	"example.com/share/cardcrypt"
	"example.com/share/internal/clientaddr"
	"example.com/share/internal/netutil"
	"example.com/share/sharefs"
)

// Signer makes detached OpenPGP signatures of files (cardcrypt.Signer).
type Signer interface {
	SignFile(ctx context.Context, client netip.Addr, view sharefs.View, name string) ([]byte, sharefs.Entry, error)
}

// sigSuffix names the signature of a file: RETR FILE.sig.
const sigSuffix = ".sig"

// answerSignature answers SIZE, MDTM and RETR for FILE.sig when the card
// signs, FILE is a file and no real FILE.sig exists; it reports whether
// it answered. The signatures are not listed.
func (s *Server) answerSignature(sess *ftp.Session, st *session, cmd, arg string) bool {
	if s.signer == nil || !strings.HasSuffix(arg, sigSuffix) {
		return false
	}
	name := sess.BuildPath(arg)
	if _, err := s.view.Stat(name); err == nil {
		return false // a real file of that name wins
	}
	// FILE is the plain name, as HTTP names the signature download.
	view, plain := cardcrypt.PlainView(s.view), strings.TrimPrefix(strings.TrimSuffix(name, sigSuffix), "/")
	e, err := view.Stat(plain)
	if err != nil || e.IsDir {
		return false
	}
	if cmd == "MDTM" {
		st.conn.reply(213, stamp(e.ModTime))
		return true
	}
	// Reading a big file for its signature may take a while; never
	// longer than a client may stay idle, and not past the client: the
	// control connection is not read meanwhile, so only a look at its
	// socket tells that the client has gone.
	ctx, cancel := context.WithTimeout(context.Background(), s.idle)
	defer cancel()
	ctx, stop := netutil.WatchPeer(ctx, netutil.Raw(st.conn.raw))
	defer stop()
	sig, _, err := s.signer.SignFile(ctx, clientaddr.Key(st.conn.peer), view, plain)
	if err != nil && ctx.Err() != nil && st.conn.hasLeft() {
		return true // nobody to answer
	}
	if err != nil {
		s.log.Warn("ftp signature refused", "conn", st.conn.id, "client", st.conn.peer, "path", name, "err", err)
		st.conn.reply(450, arg+": the signature cannot be made now; try again shortly.")
		return true
	}
	switch cmd {
	case "SIZE":
		st.conn.reply(213, strconv.Itoa(len(sig)))
	case "RETR":
		s.sendSignature(st, name, arg, sig)
	}
	return true
}

// sendSignature sends sig on the data connection, from the REST offset.
func (s *Server) sendSignature(st *session, name, arg string, sig []byte) {
	offset := st.rest
	st.rest = 0
	if !st.ready() {
		st.conn.reply(425, "Use PASV, EPSV, PORT or EPRT first.")
		return
	}
	if offset > int64(len(sig)) {
		st.conn.reply(554, fmt.Sprintf("Cannot resume %s at %d: it has only %d bytes.", arg, offset, len(sig)))
		return
	}
	r := bytes.NewReader(sig[offset:])
	opening := fmt.Sprintf("Opening BINARY mode data connection for %s (%d bytes).", arg, len(sig))
	s.transfer(st, "RETR", name, opening, offset, func(_ context.Context, dc net.Conn) (int64, error) {
		n, err := r.WriteTo(stallWriter{dc, s.stall, nil})
		if err == nil && n != int64(len(sig))-offset {
			err = errors.New("short write")
		}
		return n, err
	})
}
