package ftpshare

import (
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/share/sharefs"
)

// timeFormat is the MDTM and MLSx time stamp; always in UTC (RFC 3659).
const timeFormat = "20060102150405"

func stamp(t time.Time) string { return t.UTC().Format(timeFormat) }

// listable reports whether a name can travel on a line of a listing: a
// CR or LF inside would break the line-based formats. A name that is not
// valid UTF-8 is left out as well: FEAT announces UTF8 and OPTS UTF8 says
// it is always on, so clients decode listings as UTF-8, and one such name
// makes some of them fail on the whole folder (Python's ftplib raises
// UnicodeDecodeError in mlsd and nlst). Such a file cannot be fetched by
// name over FTP either; HTTP still serves it.
func listable(name string) bool {
	return !strings.ContainsAny(name, "\r\n") && utf8.ValidString(name)
}

// mlsxFacts returns the RFC 3659 facts of an entry, ending with ";".
func mlsxFacts(e sharefs.Entry) string {
	if e.IsDir {
		return "type=dir;modify=" + stamp(e.ModTime) + ";perm=el;"
	}
	facts := "type=file;"
	if e.Size >= 0 {
		facts += "size=" + strconv.FormatInt(e.Size, 10) + ";"
	}
	return facts + "modify=" + stamp(e.ModTime) + ";perm=r;"
}

// renderer appends the listing line of one entry, CRLF included.
type renderer func(b []byte, e sharefs.Entry) []byte

// appendMLSD appends the line of e in an MLSD listing.
func appendMLSD(b []byte, e sharefs.Entry) []byte {
	b = append(b, mlsxFacts(e)...)
	b = append(b, ' ')
	b = append(b, e.Name...)
	return append(b, "\r\n"...)
}

// appendListLine appends the line of e in a LIST listing, in the "ls -l"
// form that clients parse. Times are in UTC, like MDTM; an unknown size
// shows as 0.
func appendListLine(b []byte, e sharefs.Entry, now time.Time) []byte {
	mode := "-r--r--r--"
	if e.IsDir {
		mode = "dr-xr-xr-x"
	}
	b = append(b, mode...)
	b = append(b, " 1 ftp ftp "...)
	size := strconv.FormatInt(max(e.Size, 0), 10)
	for range 12 - len(size) {
		b = append(b, ' ')
	}
	b = append(b, size...)
	b = append(b, ' ')
	b = appendLsTime(b, e.ModTime, now)
	b = append(b, ' ')
	b = append(b, e.Name...)
	return append(b, "\r\n"...)
}

// appendLsTime shows the time of day for the last six months, else the
// year, as ls does.
func appendLsTime(b []byte, t, now time.Time) []byte {
	t = t.UTC()
	if t.After(now.Add(time.Hour)) || now.Sub(t) > 182*24*time.Hour {
		return t.AppendFormat(b, "Jan _2  2006")
	}
	return t.AppendFormat(b, "Jan _2 15:04")
}

// listingBuffer is how much of a listing is rendered before it is written:
// many clients listing big folders at once stay small.
const listingBuffer = 16 << 10

// writeEntries renders the listable entries one by one into a small buffer
// and writes it to w whenever it fills; w is expected to renew a progress
// deadline on each write. It returns the bytes written.
func writeEntries(w io.Writer, entries []sharefs.Entry, render renderer) (int64, error) {
	buf := make([]byte, 0, listingBuffer)
	var total int64
	flush := func() error {
		n, err := w.Write(buf)
		total += int64(n)
		buf = buf[:0]
		return err
	}
	for _, e := range entries {
		if !listable(e.Name) {
			continue
		}
		buf = render(buf, e)
		if len(buf) >= listingBuffer-512 {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if len(buf) == 0 {
		return total, nil
	}
	return total, flush()
}
