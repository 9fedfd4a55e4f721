package ftpshare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"
	"time"

	ftp "goftp.io/server/v2"

	"example.com/share/cardcrypt"
	"example.com/share/internal/accesslog"
	"example.com/share/internal/clientaddr"
	"example.com/share/internal/netutil"
	"example.com/share/internal/transfers"
	"example.com/share/sharefs"
)

const (
	// chunk is how much one sendfile call sends; the stall deadline is
	// renewed between chunks.
	chunk = 4 << 20
	// minStall is the shortest time a data connection may make no progress.
	minStall = 10 * time.Second
)

func cmdRetr(s *Server, sess *ftp.Session, st *session, arg string) {
	if s.answerSignature(sess, st, "RETR", arg) {
		return
	}
	offset := st.rest
	st.rest = 0 // a restart marker serves one RETR
	name := sess.BuildPath(arg)
	if !st.ready() {
		s.refuse(st, "RETR", name, 425, "Use PASV, EPSV, PORT or EPRT first.")
		return
	}
	// The type is checked before anything is opened: opening a folder or
	// anything but a plain file is never what a client may ask for.
	e, err := s.view.Stat(name)
	switch {
	case err != nil:
		s.refuse(st, "RETR", name, 550, arg+": no such file.")
		return
	case e.IsDir:
		s.refuse(st, "RETR", name, 550, arg+": not a plain file.")
		return
	}
	f, err := s.view.Open(name)
	if err != nil {
		s.refuse(st, "RETR", name, 550, arg+": no such file.")
		return
	}
	defer f.Close()
	if err := seekTo(f, offset, e.Size); err != nil {
		s.refuse(st, "RETR", name, 554, fmt.Sprintf("Cannot resume %s at %d: %v.", arg, offset, err))
		return
	}
	s.transfer(st, "RETR", name, statusLine(arg, e), offset, func(ctx context.Context, dc net.Conn) (int64, error) {
		left := int64(-1)
		if e.Size >= 0 {
			left = e.Size - offset
		}
		defer bindToClient(ctx, f, dc)()
		tr := s.transfers.Start("ftp", st.conn.peer, name, left)
		n, err := s.send(dc, f, tr)
		tr.Done(err == nil)
		return n, err
	})
}

// bindToClient ties the long work of an encrypted file resumed far in
// (a catch-up that encrypts up to the REST offset before its first byte
// goes out) to the client: it stops on ABOR, when the control
// connection goes (ctx), and when the client closes the data connection,
// which nothing notices while nothing is written but a look every
// quarter second. It returns what ends the looking.
func bindToClient(ctx context.Context, f sharefs.File, dc net.Conn) (stop func()) {
	b, ok := f.(cardcrypt.Binder)
	if !ok {
		return func() {}
	}
	ctx, cancel := netutil.WatchPeer(ctx, netutil.Raw(dc))
	b.Bind(ctx, clientaddr.Of(dc.RemoteAddr()), nil)
	return cancel
}

// errNoSeek refuses REST on files that are made while they are sent.
var errNoSeek = errors.New("this file is produced while it is sent and cannot resume; download it whole")

// seekTo moves f to the REST offset, if there is one.
func seekTo(f sharefs.File, offset, size int64) error {
	if offset == 0 {
		return nil
	}
	seeker, ok := f.(io.Seeker)
	if !ok || size < 0 {
		return errNoSeek
	}
	if offset > size {
		return fmt.Errorf("the file has only %d bytes", size)
	}
	_, err := seeker.Seek(offset, io.SeekStart)
	return err
}

// send copies f to the data connection: with sendfile when f is a file of
// the operating system, by copying otherwise. The stall deadline is
// renewed as data moves, so a client that stops reading is dropped; tr
// (which may be nil) counts what went out.
func (s *Server) send(dc net.Conn, f sharefs.File, tr *transfers.Transfer) (int64, error) {
	stall := s.stall
	tc, plain := dc.(*net.TCPConn) // not over TLS
	if osf, ok := f.(*os.File); ok && plain {
		var total int64
		for {
			_ = tc.SetWriteDeadline(time.Now().Add(stall))
			n, err := tc.ReadFrom(io.LimitReader(osf, chunk))
			total += n
			tr.Add(n)
			if err != nil || n == 0 {
				return total, err
			}
		}
	}
	// A stream that writes itself (an encrypted file does so in a
	// pipeline) still renews the deadline on each of its writes.
	if wt, ok := f.(io.WriterTo); ok {
		return wt.WriteTo(stallWriter{dc, stall, tr})
	}
	buf := make([]byte, 64<<10)
	return io.CopyBuffer(stallWriter{dc, stall, tr}, readerOnly{f}, buf)
}

// stallWriter renews the write deadline before every write.
type stallWriter struct {
	c     net.Conn
	stall time.Duration
	tr    *transfers.Transfer // counts what went out; may be nil
}

func (w stallWriter) Write(p []byte) (int, error) {
	_ = w.c.SetWriteDeadline(time.Now().Add(w.stall))
	n, err := w.c.Write(p)
	w.tr.Add(int64(n))
	return n, err
}

// Room implements cardcrypt.RoomTeller: an encrypted file encrypts no
// more ahead than the data connection can take, so a client that stops
// reading pins none of its chunks. The wait counts as part of a write.
func (w stallWriter) Room() (int, error) {
	raw := netutil.Raw(w.c)
	if raw == nil {
		return 0, nil
	}
	_ = w.c.SetWriteDeadline(time.Now().Add(w.stall))
	room, err := netutil.SendRoom(raw)
	if err != nil {
		return 0, fmt.Errorf("wait for the client to take more: %w", err)
	}
	return room, nil
}

// readerOnly hides any WriterTo, so the copy goes through the buffer.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// transfer opens the data connection, runs send while watching for ABOR,
// and answers 226 or 426.
func (s *Server) transfer(st *session, cmd, name, opening string, offset int64, send func(context.Context, net.Conn) (int64, error)) {
	if !s.dataAllowed(st) {
		return
	}
	// Watch from the start: an ABOR also ends the wait for the client,
	// and it, or the client gone, ends send's context.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := st.conn.watch(func() { cancel(); st.stopData() })
	start := time.Now()
	tcp, err := st.open()
	if err != nil {
		stop()
		st.conn.reply(425, "Cannot open the data connection.")
		s.logAccess(st, cmd, name, 425, 0, start, "the data connection could not be opened: "+accesslog.Reason(err))
		return
	}
	st.conn.setBusy(true)
	defer st.conn.setBusy(false)
	st.conn.reply(150, opening)
	dc, err := s.protect(st, tcp)
	if err != nil {
		stop()
		st.endData()
		st.conn.reply(522, "TLS on the data connection failed; transfer aborted.")
		s.logAccess(st, cmd, name, 522, 0, start, "TLS on the data connection failed: "+accesslog.Reason(err))
		return
	}
	uncork := netutil.Cork(dc) // pieces leave in full segments
	n, err := send(ctx, dc)
	uncork()
	aborted := stop()
	if cerr := dc.Close(); err == nil && !aborted {
		err = cerr // over TLS, the close_notify that ends the data
	}
	st.endData()
	code, reason := 226, ""
	switch {
	case aborted && s.isClosing():
		code, reason = 426, accesslog.ReasonStopping
		st.conn.reply(426, "Server shutting down; transfer cut short.")
	case aborted:
		code, reason = 426, "aborted by the client"
		st.conn.reply(426, "Transfer aborted; data connection closed.")
	case err != nil:
		code, reason = 426, accesslog.Reason(err)
		st.conn.reply(426, "Data connection lost; transfer aborted.")
	default:
		st.conn.reply(226, fmt.Sprintf("Transfer complete (%d bytes).", n))
	}
	if offset != 0 {
		reason = strings.TrimPrefix(reason+"; ", "; ") + fmt.Sprintf("resumed at byte %d", offset)
	}
	s.logAccess(st, cmd, name, code, n, start, reason)
}

// sendListing runs a transfer of a listing, rendered entry by entry as it
// is written, so that many clients listing at once stay small; a client
// that stops reading is dropped after the stall time.
func (s *Server) sendListing(st *session, cmd, name string, entries []sharefs.Entry, render renderer) {
	s.transfer(st, cmd, name, "Opening ASCII mode data connection for the listing.", 0,
		func(_ context.Context, dc net.Conn) (int64, error) {
			return writeEntries(stallWriter{dc, s.stall, nil}, entries, render)
		})
}

// listingFor answers 425, 450 or 550 and reports false when a listing of
// name cannot be sent; else release must be called once it is sent.
func (s *Server) listingFor(st *session, arg, name string) (entries []sharefs.Entry, release func(), ok bool) {
	if !st.ready() {
		st.conn.reply(425, "Use PASV, EPSV, PORT or EPRT first.")
		return nil, nil, false
	}
	entries, release, err := s.listEntries(st.conn, name)
	if err != nil {
		s.replyListError(st, arg, err)
		return nil, nil, false
	}
	return entries, release, true
}

func cmdList(s *Server, sess *ftp.Session, st *session, arg string) {
	name := sess.BuildPath(listPath(arg))
	entries, release, ok := s.listingFor(st, arg, name)
	if !ok {
		return
	}
	defer release()
	now := time.Now()
	s.sendListing(st, "LIST", name, entries, func(b []byte, e sharefs.Entry) []byte {
		return appendListLine(b, e, now)
	})
}

func cmdNlst(s *Server, sess *ftp.Session, st *session, arg string) {
	name := sess.BuildPath(listPath(arg))
	entries, release, ok := s.listingFor(st, arg, name)
	if !ok {
		return
	}
	defer release()
	e, err := s.view.Stat(name)
	prefix := nlstPrefix(listPath(arg), err == nil && e.IsDir)
	if !listable(prefix) {
		// The names would carry the client's spelling of the folder.
		entries = nil
	}
	s.sendListing(st, "NLST", name, entries, func(b []byte, e sharefs.Entry) []byte {
		b = append(b, prefix...)
		b = append(b, e.Name...)
		return append(b, "\r\n"...)
	})
}

// nlstPrefix is what NLST puts before each name so that the client can
// RETR it from where it is: the folder it asked for, as it spelt it
// ("NLST sub" and "NLST sub/*.txt" give "sub/a.txt"), and nothing for
// the current folder.
func nlstPrefix(arg string, isDir bool) string {
	if arg == "" {
		return ""
	}
	if isDir {
		return strings.TrimRight(arg, "/") + "/"
	}
	switch dir := path.Dir(arg); dir {
	case ".":
		return ""
	case "/":
		return "/"
	default:
		return dir + "/"
	}
}

func cmdMlsd(s *Server, sess *ftp.Session, st *session, arg string) {
	name := sess.BuildPath(arg)
	if e, err := s.view.Stat(name); err == nil && !e.IsDir {
		st.conn.reply(501, arg+": not a folder; use MLST for a file.")
		return
	}
	entries, release, ok := s.listingFor(st, arg, name)
	if !ok {
		return
	}
	defer release()
	s.sendListing(st, "MLSD", name, entries, appendMLSD)
}
