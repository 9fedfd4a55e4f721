package ftpshare

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	ftp "goftp.io/server/v2"

	"example.com/share/sharefs"
)

// errReadOnly is what every write of the driver returns.
var errReadOnly = errors.New("read-only server")

// driver is the goftp Driver over a sharefs.View. goftp's own commands
// that remain (CWD, CDUP) only stat through it; the write methods refuse.
type driver struct {
	view sharefs.View
}

// Stat implements ftp.Driver.
func (d *driver) Stat(_ *ftp.Context, name string) (os.FileInfo, error) {
	e, err := d.view.Stat(name)
	if err != nil {
		return nil, err
	}
	return entryInfo{e}, nil
}

// ListDir implements ftp.Driver.
func (d *driver) ListDir(_ *ftp.Context, name string, fn func(os.FileInfo) error) error {
	entries, err := d.view.List(name)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := fn(entryInfo{e}); err != nil {
			return err
		}
	}
	return nil
}

// GetFile implements ftp.Driver; the RETR of this package does not use it.
func (d *driver) GetFile(_ *ftp.Context, name string, offset int64) (int64, io.ReadCloser, error) {
	return 0, nil, fmt.Errorf("get %q: %w", name, errors.ErrUnsupported)
}

// DeleteDir implements ftp.Driver and refuses.
func (d *driver) DeleteDir(*ftp.Context, string) error { return errReadOnly }

// DeleteFile implements ftp.Driver and refuses.
func (d *driver) DeleteFile(*ftp.Context, string) error { return errReadOnly }

// Rename implements ftp.Driver and refuses.
func (d *driver) Rename(*ftp.Context, string, string) error { return errReadOnly }

// MakeDir implements ftp.Driver and refuses.
func (d *driver) MakeDir(*ftp.Context, string) error { return errReadOnly }

// PutFile implements ftp.Driver and refuses.
func (d *driver) PutFile(*ftp.Context, string, io.Reader, int64) (int64, error) {
	return 0, errReadOnly
}

// entryInfo is a sharefs.Entry as an fs.FileInfo.
type entryInfo struct{ e sharefs.Entry }

func (i entryInfo) Name() string       { return i.e.Name }
func (i entryInfo) Size() int64        { return max(i.e.Size, 0) }
func (i entryInfo) ModTime() time.Time { return i.e.ModTime }
func (i entryInfo) IsDir() bool        { return i.e.IsDir }
func (i entryInfo) Sys() any           { return nil }
func (i entryInfo) Mode() fs.FileMode {
	if i.e.IsDir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// anonymousAuth lets in "anonymous" and "ftp" with any password, or,
// with a secret, any user with the secret as password.
type anonymousAuth struct{ srv *Server }

// CheckPasswd implements ftp.Auth.
func (a anonymousAuth) CheckPasswd(ctx *ftp.Context, user, pass string) (bool, error) {
	ok := isAnonymous(user) && a.srv.secret == ""
	log := a.srv.log
	if ctx != nil && ctx.Sess != nil {
		if pa, isPeer := ctx.Sess.RemoteAddr().(peerAddr); isPeer {
			if a.srv.secret != "" {
				ok = a.srv.checkSecret(pa.conn.peer, pass)
			}
			log = log.With("conn", pa.conn.id, "client", pa.conn.peer)
			if ok {
				pa.conn.loggedIn.Store(true) // lifts the login time limit
			}
		}
	}
	if ok {
		log.Info("ftp login", "user", user)
	} else {
		log.Warn("ftp login refused", "user", user)
	}
	return ok, nil
}

func isAnonymous(user string) bool {
	return strings.EqualFold(user, "anonymous") || strings.EqualFold(user, "ftp")
}

// goftpLogger sends goftp's own messages to slog at debug level.
type goftpLogger struct{ log *slog.Logger }

// Print implements ftp.Logger.
func (l goftpLogger) Print(id string, msg any) { l.log.Debug("goftp", "msg", fmt.Sprint(msg)) }

// Printf implements ftp.Logger.
func (l goftpLogger) Printf(id, format string, v ...any) {
	l.log.Debug("goftp", "msg", fmt.Sprintf(format, v...))
}

// PrintCommand implements ftp.Logger; passwords are not logged.
func (l goftpLogger) PrintCommand(id, cmd, param string) {
	if strings.EqualFold(cmd, "PASS") {
		param = "****"
	}
	l.log.Debug("ftp command", "cmd", cmd, "arg", param)
}

// PrintResponse implements ftp.Logger.
func (l goftpLogger) PrintResponse(id string, code int, msg string) {
	l.log.Debug("ftp reply", "code", code, "msg", msg)
}
