package cardcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"strings"

	"example.com/share/sharefs"
)

// ErrChangedWhileSigning is a file that changed while it was read for a
// signature; asking again signs the new version.
var ErrChangedWhileSigning = errors.New("the file changed while it was signed; try again")

// plainSource is an encrypting view: it shows NAME+Suffix() for every
// plain NAME of Plain().
type plainSource interface {
	Plain() sharefs.View
	Suffix() string
}

// SignedView is the view whose bytes signatures cover, and the plain name
// of a name v lists: behind encryption the plain file, since signatures
// are over plain bytes.
func SignedView(v sharefs.View, name string) (sharefs.View, string, bool) {
	enc, ok := v.(plainSource)
	if !ok {
		return v, name, true
	}
	plain, cut := strings.CutSuffix(name, enc.Suffix())
	if !cut && name != "" {
		return nil, "", false
	}
	return enc.Plain(), plain, true
}

// PlainView is the view of plain files behind v (v itself when it does
// not encrypt).
func PlainView(v sharefs.View) sharefs.View {
	if enc, ok := v.(plainSource); ok {
		return enc.Plain()
	}
	return v
}

// SignFile signs the regular file name of view. Its signature is kept
// under the file's version, so asking again costs no card operation
// until the file changes.
func (s *Signer) SignFile(ctx context.Context, client netip.Addr, view sharefs.View, name string) ([]byte, sharefs.Entry, error) {
	parts, ok := sharefs.Split(name)
	if !ok {
		return nil, sharefs.Entry{}, &fs.PathError{Op: "sign", Path: name, Err: fs.ErrNotExist}
	}
	name = strings.Join(parts, "/") // one cache key per file, whoever asks
	e, err := view.Stat(name)
	if err != nil {
		return nil, e, err
	}
	if e.IsDir {
		return nil, e, &fs.PathError{Op: "sign", Path: name, Err: fs.ErrNotExist}
	}
	sig, err := s.Sign(ctx, client, fileVersion(name, e), func(w io.Writer) error {
		return copyVersion(ctx, w, view, name, e)
	})
	return sig, e, err
}

// fileVersion is the cache key of a file's signature: its name and
// version; "" (keyed by the bytes) when the version is unknown.
func fileVersion(name string, e sharefs.Entry) string {
	if e.Version.IsZero() {
		return ""
	}
	return name + "\x00" + e.Version.String()
}

// copyVersion writes the file's bytes to w, stopping when ctx ends, and
// checks that it is still the version e afterwards, so a signature is
// never kept under a version it does not cover.
func copyVersion(ctx context.Context, w io.Writer, view sharefs.View, name string, e sharefs.Entry) error {
	f, err := view.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.Read(buf)
		w.Write(buf[:n]) // hashes do not fail
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read %q for its signature: %w", name, err)
		}
	}
	after, err := view.Stat(name)
	if err != nil || after.Version != e.Version {
		return ErrChangedWhileSigning
	}
	return nil
}
