package ftpshare

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	ftp "goftp.io/server/v2"

	"example.com/share/internal/netutil"
	"example.com/share/sharefs"
)

func cmdSize(s *Server, sess *ftp.Session, st *session, arg string) {
	if s.answerSignature(sess, st, "SIZE", arg) {
		return
	}
	name := sess.BuildPath(arg)
	e, err := s.view.Stat(name)
	switch {
	case err != nil:
		// Logged: clients ask SIZE before RETR and stop at this answer.
		s.refuse(st, "SIZE", name, 550, arg+": no such file.")
	case e.IsDir:
		st.conn.reply(550, arg+": not a plain file.")
	case e.Size < 0:
		// Not 550: clients read that as "no such file" and give up.
		st.conn.reply(504, "Size of "+arg+" is not known before it is sent.")
	default:
		st.conn.reply(213, strconv.FormatInt(e.Size, 10))
	}
}

func cmdMdtm(s *Server, sess *ftp.Session, st *session, arg string) {
	if s.answerSignature(sess, st, "MDTM", arg) {
		return
	}
	e, err := s.view.Stat(sess.BuildPath(arg))
	if err != nil {
		st.conn.reply(550, arg+": no such file.")
		return
	}
	st.conn.reply(213, stamp(e.ModTime))
}

func cmdMlst(s *Server, sess *ftp.Session, st *session, arg string) {
	name := sess.BuildPath(arg)
	e, err := s.view.Stat(name)
	if err != nil || !listable(name) {
		st.conn.reply(550, arg+": no such file or folder.")
		return
	}
	st.conn.replyLines(250, "Listing "+name, []string{mlsxFacts(e) + " " + name}, "End")
}

func cmdStat(s *Server, sess *ftp.Session, st *session, arg string) {
	if strings.TrimSpace(arg) == "" {
		st.conn.replyLines(211, "share FTP server status:", []string{
			"Connected from " + st.conn.peer.String(),
			"Logged in anonymously, read-only",
			"TYPE: BINARY, STRUcture: File, MODE: Stream",
			"Idle time-out: " + s.idle.String(),
		}, "End of status")
		return
	}
	entries, release, err := s.listEntries(st.conn, sess.BuildPath(listPath(arg)))
	if err != nil {
		s.replyListError(st, arg, err)
		return
	}
	defer release()
	now := time.Now()
	st.conn.replyEntries(213, "Status of "+arg+":", entries, func(b []byte, e sharefs.Entry) []byte {
		return appendListLine(b, e, now)
	}, "End of status")
}

// listEntries returns the entries of a folder, the entry of a file, or the
// entries of a folder that match a pattern such as "*.txt" in the last
// element (clients' mget and ls rely on the server for that). The slice
// may be shared with other sessions and is never changed; names that
// cannot be put on a listing line are left out when it is written. It
// counts under the memory of listings being sent until release is called.
func (s *Server) listEntries(c *ctrlConn, name string) (entries []sharefs.Entry, release func(), err error) {
	e, err := s.view.Stat(name)
	switch {
	case err == nil && e.IsDir:
		entries, err = s.list(c, name)
	case err == nil:
		e.Name = path.Base(name)
		entries = []sharefs.Entry{e}
	case isPattern(path.Base(name)):
		entries, err = s.matching(c, name)
	}
	if err != nil {
		return nil, nil, err
	}
	release, err = s.holdListing(c, entries)
	return entries, release, err
}

// list returns the entries of a folder for a listing. It is the one place
// listings come from, so that a listing cache shared by the sessions can
// take the view's place; the slice is read, never changed.
func (s *Server) list(c *ctrlConn, name string) ([]sharefs.Entry, error) {
	if err := s.startListing(c); err != nil {
		return nil, err
	}
	defer s.endListing(c)
	return s.view.List(name)
}

// listingWait is how long a listing waits for its turn.
const listingWait = 10 * time.Second

// errBusy reports a listing that did not get its turn in listingWait.
var errBusy = errors.New("server busy")

// startListing waits for the turn of a listing to be built (a folder read,
// a pattern matched). That work takes CPU every client shares, so only a
// few listings are built at once (listSlots), and a client address has one
// built at a time: the sessions of one address queue behind each other,
// not in front of other clients. A client that left while it waited gets
// nothing done.
func (s *Server) startListing(c *ctrlConn) error {
	key := clientKey(c.peer)
	w := listingWaiter{c: c, limit: time.NewTimer(s.listWait), tick: time.NewTicker(netutil.PeerLookEvery)}
	defer w.limit.Stop()
	defer w.tick.Stop()
	if err := w.take(s.addrTurn(key)); err != nil {
		s.leaveTurn(key, false)
		return err
	}
	if err := w.take(s.listSlots); err != nil {
		s.leaveTurn(key, true)
		return err
	}
	if c.hasLeft() {
		s.endListing(c)
		return errClientLeft
	}
	return nil
}

// listingWaiter waits for the turn of one listing.
type listingWaiter struct {
	c     *ctrlConn
	limit *time.Timer  // the wait's end: errBusy
	tick  *time.Ticker // when to check that the client is still there
}

// take puts a token into ch. A client that leaves while it waits is
// noticed within a tick, so that its place under the caps is free soon.
func (w listingWaiter) take(ch chan struct{}) error {
	for {
		select {
		case ch <- struct{}{}:
			return nil
		case <-w.limit.C:
			return errBusy
		case <-w.tick.C:
			if w.c.hasLeft() {
				return errClientLeft
			}
		}
	}
}

// endListing ends the turn startListing gave.
func (s *Server) endListing(c *ctrlConn) {
	<-s.listSlots
	s.leaveTurn(clientKey(c.peer), true)
}

// listTurn is the queue of one client address's listings.
type listTurn struct {
	ch    chan struct{} // holds a token while one of them is built
	users int           // sessions holding or waiting for it
}

// addrTurn returns the listing queue of a client address.
func (s *Server) addrTurn(key netip.Addr) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.listTurns[key]
	if t == nil {
		t = &listTurn{ch: make(chan struct{}, 1)}
		s.listTurns[key] = t
	}
	t.users++
	return t.ch
}

// leaveTurn leaves the queue of key, giving the turn back if held.
func (s *Server) leaveTurn(key netip.Addr, held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.listTurns[key]
	if held {
		<-t.ch
	}
	if t.users--; t.users == 0 {
		delete(s.listTurns, key)
	}
}

// isPattern reports whether a name element holds glob characters.
func isPattern(elem string) bool { return strings.ContainsAny(elem, "*?[") }

// matching lists the entries of the folder of pattern that match its last
// element. No match, or a malformed pattern, is "no such file", as for a
// missing name; a pattern over the limits or the budget is an error of its
// own that the client is told.
func (s *Server) matching(c *ctrlConn, pattern string) ([]sharefs.Entry, error) {
	dir, elem := path.Split(pattern)
	g, err := compileGlob(elem)
	if errors.Is(err, errBadGlob) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	if err := s.startListing(c); err != nil {
		return nil, err
	}
	defer s.endListing(c)
	entries, err := s.view.List(dir)
	if err != nil {
		return nil, err
	}
	budget := globBudget
	var found []sharefs.Entry
	for _, e := range entries {
		// Each name brings an allowance of its own, so that patterns that
		// cost a few steps per byte ("*.txt") work in folders of any size.
		budget += globStepsPerByte*len(e.Name) + globStepsPerByte
		if g.match(e.Name, &budget) {
			found = append(found, e)
		}
		if budget < 0 {
			return nil, errGlobBudget
		}
	}
	if len(found) == 0 {
		return nil, fs.ErrNotExist
	}
	return found, nil
}

// replyListError answers a listing that cannot be made: 501 for a pattern
// over the limits, 550 for one over the budget or a missing name.
func (s *Server) replyListError(st *session, arg string, err error) {
	var limit globLimitError
	switch {
	case errors.As(err, &limit):
		s.log.Warn("ftp pattern refused", "conn", st.conn.id, "client", st.conn.peer, "reason", limit.why)
		st.conn.reply(501, limit.why+".")
	case errors.Is(err, errBusy):
		s.log.Warn("ftp listing refused: busy", "conn", st.conn.id, "client", st.conn.peer, "waited_ms", s.listWait.Milliseconds())
		st.conn.reply(450, "Server busy with other listings; try again shortly.")
	case errors.Is(err, errListingMemory):
		s.log.Warn("ftp listing refused: memory", "conn", st.conn.id, "client", st.conn.peer,
			"held_bytes", s.listingBytes(), "max", s.listMem)
		st.conn.reply(450, "Too many large listings are being sent now; try again shortly.")
	case errors.Is(err, errClientLeft):
		// Nobody to answer.
	case errors.Is(err, errGlobBudget):
		s.log.Warn("ftp pattern stopped at its budget", "conn", st.conn.id, "client", st.conn.peer, "budget", globBudget)
		st.conn.reply(550, "Pattern "+arg+": "+errGlobBudget.Error()+".")
	default:
		st.conn.reply(550, arg+": no such file or folder.")
	}
}

// statusLine is a short description of an entry for a 150 reply.
func statusLine(name string, e sharefs.Entry) string {
	if e.Size < 0 {
		return fmt.Sprintf("Opening BINARY mode data connection for %s.", name)
	}
	return fmt.Sprintf("Opening BINARY mode data connection for %s (%d bytes).", name, e.Size)
}
