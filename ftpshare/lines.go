package ftpshare

import (
	"bytes"
	"errors"
	"strings"
)

// maxLine bounds one command line. The longest useful line is a verb and a
// path of 4096 bytes (the limit sharefs serves); twice that leaves room.
const maxLine = 8192

// errLineTooLong reports a command line longer than maxLine.
var errLineTooLong = errors.New("command line too long")

// Telnet bytes that clients put on the control connection: IAC starts a
// command; WILL, WONT, DO and DONT carry one more option byte.
const (
	telnetIAC  = 0xFF
	telnetWILL = 0xFB
	telnetDONT = 0xFE
)

// maxBuffered bounds what the ABOR watcher reads ahead of the session
// during a transfer: room for one longest line and a few short ones.
const maxBuffered = maxLine + 4096

// lineBuffer turns the bytes of a control connection into command lines.
// It keeps at most maxLine bytes of an unfinished line, so a client cannot
// make the server hold more than that.
type lineBuffer struct {
	buf      []byte
	scanned  int // buf[:scanned] holds whole lines hasAbort has looked at
	searched int // buf[scanned:scanned+searched] holds no line end
}

// feed appends bytes read from the client.
func (b *lineBuffer) feed(p []byte) { b.buf = append(b.buf, p...) }

// pending reports whether an unfinished line is buffered.
func (b *lineBuffer) pending() bool { return len(b.buf) > 0 }

// room is how many more bytes the ABOR watcher may read ahead.
func (b *lineBuffer) room() int { return max(maxBuffered-len(b.buf), 0) }

// next removes and returns the next complete line, cleaned. It reports
// false when no complete line is buffered, and errLineTooLong when the
// next line is longer than maxLine.
func (b *lineBuffer) next() (string, bool, error) {
	i := bytes.IndexByte(b.buf, '\n')
	if i > maxLine || (i < 0 && len(b.buf) > maxLine) {
		return "", false, errLineTooLong
	}
	if i < 0 {
		return "", false, nil
	}
	line := cleanLine(b.buf[:i])
	b.buf = b.buf[i+1:]
	if i < b.scanned {
		b.scanned -= i + 1
	} else {
		b.scanned, b.searched = 0, 0
	}
	if len(b.buf) == 0 {
		b.buf = nil // let a big read buffer go
	}
	return line, true, nil
}

// hasAbort reports whether a complete line that arrived since the last
// call is an ABOR command. It is used while a transfer runs and the
// session cannot read commands; each byte is looked at once.
func (b *lineBuffer) hasAbort() bool {
	for {
		from := b.scanned + b.searched
		i := bytes.IndexByte(b.buf[from:], '\n')
		if i < 0 {
			b.searched = len(b.buf) - b.scanned
			return false
		}
		line := b.buf[b.scanned : from+i]
		b.scanned, b.searched = from+i+1, 0
		// A line too long is refused when the session reads it.
		if len(line) <= maxLine {
			if verb, _ := splitCommand(cleanLine(line)); verb == "ABOR" {
				return true
			}
		}
	}
}

// cleanLine removes the line end and Telnet commands (clients send
// IAC IP IAC DM before ABOR), keeping a doubled IAC as one byte.
func cleanLine(raw []byte) string {
	raw = bytes.TrimSuffix(raw, []byte{'\r'})
	if bytes.IndexByte(raw, telnetIAC) < 0 {
		return string(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != telnetIAC {
			out = append(out, c)
			continue
		}
		if i+1 >= len(raw) {
			break
		}
		i++
		switch op := raw[i]; {
		case op == telnetIAC:
			out = append(out, telnetIAC)
		case op >= telnetWILL && op <= telnetDONT:
			i++ // skip the option byte as well
		}
	}
	return string(out)
}

// splitCommand splits a cleaned line into its upper-case verb and its
// argument, the way the session does: at the first space.
func splitCommand(line string) (verb, arg string) {
	verb, arg, _ = strings.Cut(line, " ")
	return strings.ToUpper(strings.TrimSpace(verb)), arg
}
