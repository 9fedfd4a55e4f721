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
	s.logAccess(st, cmd, name, code, 0, time.Now(), "")
}
