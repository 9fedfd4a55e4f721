package ftpshare

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	ftp "goftp.io/server/v2"

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
		st.conn.reply(550, arg+": no such file.")
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
	entries, err := s.listEntries(sess.BuildPath(listPath(arg)))
	if err != nil {
		st.conn.reply(550, arg+": no such file or folder.")
		return
	}
	now := time.Now()
	lines := make([]string, 0, len(entries))
	for _, e := range entries {
		lines = append(lines, strings.TrimSuffix(listLine(e, now), "\r\n"))
	}
	st.conn.replyLines(213, "Status of "+arg+":", lines, "End of status")
}

// listEntries returns the visible entries of a folder, the entry of a
// file, or the entries of a folder that match a pattern such as "*.txt"
// in the last element (clients' mget and ls rely on the server for
// that). Names that cannot be put on a listing line are left out.
func (s *Server) listEntries(name string) ([]sharefs.Entry, error) {
	e, err := s.view.Stat(name)
	var entries []sharefs.Entry
	switch {
	case err == nil && e.IsDir:
		entries, err = s.view.List(name)
	case err == nil:
		e.Name = path.Base(name)
		entries = []sharefs.Entry{e}
	case isPattern(path.Base(name)):
		entries, err = s.matching(name)
	}
	if err != nil {
		return nil, err
	}
	// The view's listing is shared: filter into a new slice.
	kept := make([]sharefs.Entry, 0, len(entries))
	for _, e := range entries {
		if listable(e.Name) {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// isPattern reports whether a name element holds glob characters.
func isPattern(elem string) bool { return strings.ContainsAny(elem, "*?[") }

// matching lists the entries of the folder of pattern that match its last
// element. No match is "no such file", as for a missing name.
func (s *Server) matching(pattern string) ([]sharefs.Entry, error) {
	dir, glob := path.Split(pattern)
	entries, err := s.view.List(dir)
	if err != nil {
		return nil, err
	}
	var found []sharefs.Entry
	for _, e := range entries {
		if ok, _ := path.Match(glob, e.Name); ok {
			found = append(found, e)
		}
	}
	if len(found) == 0 {
		return nil, fs.ErrNotExist
	}
	return found, nil
}

// statusLine is a short description of an entry for a 150 reply.
func statusLine(name string, e sharefs.Entry) string {
	if e.Size < 0 {
		return fmt.Sprintf("Opening BINARY mode data connection for %s.", name)
	}
	return fmt.Sprintf("Opening BINARY mode data connection for %s (%d bytes).", name, e.Size)
}
