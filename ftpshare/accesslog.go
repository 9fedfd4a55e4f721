package ftpshare

import (
	"context"
	"log/slog"
	"time"

	"example.com/share/internal/accesslog"
)

// logAccess writes the access event of a command that sent data, or of
// a download or a change refused: the schema HTTP uses, with the FTP
// command as method and its reply code as status.
func (s *Server) logAccess(st *session, cmd, name string, status int, bytes int64, start time.Time, reason string) {
	e := accesslog.Event{
		Proto: "ftp", Client: st.conn.peer, Method: cmd, Path: name,
		Status: status, Bytes: bytes, Start: start, Reason: reason,
	}
	if status == 426 {
		e.Level = slog.LevelWarn
	}
	accesslog.Log(context.Background(), s.log, e)
}

// refuse answers a command with an error reply and logs it as HTTP logs
// its 404s and 405s.
func (s *Server) refuse(st *session, cmd, name string, code int, msg string) {
	st.conn.reply(code, msg)
	s.logRefusal(st, cmd, name, code, time.Now())
}

// maxRefusalLines is how many refusals of one control connection are
// logged. A refusal costs the client a few bytes (an unknown command is
// "X\r\n"), so without it one connection could write thousands of log
// lines a second.
const maxRefusalLines = 32

// logRefusal logs a refused command, within the connection's
// maxRefusalLines; the first one past them says the rest go unlogged.
func (s *Server) logRefusal(st *session, cmd, name string, code int, start time.Time) {
	switch n := st.conn.refusals.Add(1); {
	case n <= maxRefusalLines:
		s.logAccess(st, cmd, name, code, 0, start, "")
	case n == maxRefusalLines+1:
		s.logAccess(st, cmd, name, code, 0, start, "more refusals on this connection are not logged")
	}
}
