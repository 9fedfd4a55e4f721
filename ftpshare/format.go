package ftpshare

import (
	"fmt"
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

// mlsdLine is one line of an MLSD listing.
func mlsdLine(e sharefs.Entry) string { return mlsxFacts(e) + " " + e.Name + "\r\n" }

// listLine is one line of a LIST listing in the "ls -l" form that clients
// parse. Times are in UTC, like MDTM; an unknown size shows as 0.
func listLine(e sharefs.Entry, now time.Time) string {
	mode := "-r--r--r--"
	if e.IsDir {
		mode = "dr-xr-xr-x"
	}
	return fmt.Sprintf("%s 1 ftp ftp %12d %s %s\r\n", mode, max(e.Size, 0), lsTime(e.ModTime, now), e.Name)
}

// lsTime shows the time of day for the last six months, else the year,
// as ls does.
func lsTime(t, now time.Time) string {
	t = t.UTC()
	if t.After(now.Add(time.Hour)) || now.Sub(t) > 182*24*time.Hour {
		return t.Format("Jan _2  2006")
	}
	return t.Format("Jan _2 15:04")
}
