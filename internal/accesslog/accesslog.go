// Package accesslog writes the one access event both servers log, so that
// a log collector reads HTTP and FTP alike: client IP, method or FTP
// command, decoded path, status, bytes and duration in milliseconds.
package accesslog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Msg is the message of every access event.
const Msg = "request"

// Event is one request (HTTP) or one command (FTP) that was answered.
type Event struct {
	Proto  string     // "http" or "ftp"
	Client netip.Addr // without the port
	Method string     // HTTP method or FTP command
	Path   string     // decoded, absolute: "/Tài liệu/a.txt"
	Status int        // HTTP status or FTP reply code
	Bytes  int64      // body or data bytes sent
	Start  time.Time
	// Level is Info for an ordinary answer; the caller raises it for a
	// cut transfer or a server error.
	Level slog.Level
	// HTTP only.
	Query, Host, UserAgent string
	// Reason says why a transfer ended early, in plain words.
	Reason string
}

// Log writes e to l.
func Log(ctx context.Context, l *slog.Logger, e Event) {
	if !l.Enabled(ctx, e.Level) {
		return // quiet: spare the clock and the attributes
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("proto", e.Proto),
		slog.String("client", clientString(e.Client)),
		slog.String("method", e.Method),
		slog.String("path", e.Path),
		slog.Int("status", e.Status),
		slog.Int64("bytes", e.Bytes),
		slog.Int64("duration_ms", time.Since(e.Start).Milliseconds()),
	)
	if e.Proto == "http" {
		attrs = append(attrs, slog.String("host", e.Host), slog.String("user_agent", e.UserAgent))
		if e.Query != "" {
			attrs = append(attrs, slog.String("query", e.Query))
		}
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", e.Reason))
	}
	l.LogAttrs(ctx, e.Level, Msg, attrs...)
}

func clientString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

// ClientOf is the IP address of a remote address ("192.0.2.1:5000" or a
// net.Addr), without the port.
func ClientOf(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(remote)
	return a.Unmap()
}

// ReasonStopping is why a transfer ended when share stopped before it
// was done.
const ReasonStopping = "share stopped before the transfer was done"

// Reason says in plain words why a transfer ended early.
func Reason(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, net.ErrClosed):
		return "the connection was closed (share stopping, or the transfer aborted)"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "the client stopped reading"
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrClosedPipe):
		return "the client went away"
	case errors.Is(err, context.Canceled):
		return "the client went away"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the file got shorter while it was sent"
	}
	return err.Error()
}
