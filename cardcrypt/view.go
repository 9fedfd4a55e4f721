package cardcrypt

import (
	"fmt"
	"io"
	"io/fs"
	"strings"

	"example.com/share/sharefs"
)

// View wraps inner so that every file appears as NAME.gpg (or NAME.asc)
// and reads as its encryption. Plain names do not exist; folders pass
// through. Sizes are exact; opened files are streams without Seek.
func (e *Encryptor) View(inner sharefs.View) sharefs.View {
	return &view{inner: inner, e: e}
}

type view struct {
	inner sharefs.View
	e     *Encryptor
}

// Stat implements sharefs.View.
func (v *view) Stat(name string) (sharefs.Entry, error) {
	if ent, err := v.inner.Stat(name); err == nil && ent.IsDir {
		return ent, nil
	}
	plain, ok := strings.CutSuffix(name, v.e.Suffix())
	if !ok {
		return sharefs.Entry{}, notExist(name)
	}
	ent, err := v.inner.Stat(plain)
	if err != nil {
		return sharefs.Entry{}, err
	}
	if ent.IsDir {
		return sharefs.Entry{}, notExist(name)
	}
	return v.encrypted(ent), nil
}

// encrypted describes the encrypted form of a file. The inode is dropped:
// every download is a different message, so validators must not match.
func (v *view) encrypted(ent sharefs.Entry) sharefs.Entry {
	size := v.e.EncryptedSize(ent.Name, ent.Size)
	ent.Name += v.e.Suffix()
	ent.Size = size
	ent.Inode, ent.Dev = 0, 0
	return ent
}

// List implements sharefs.View.
func (v *view) List(name string) ([]sharefs.Entry, error) {
	ents, err := v.inner.List(name)
	if err != nil {
		return nil, err
	}
	for i, ent := range ents {
		if !ent.IsDir {
			ents[i] = v.encrypted(ent)
		}
	}
	sharefs.Sort(ents)
	return ents, nil
}

// Open implements sharefs.View. The file is encrypted by a goroutine
// into a pipe; closing the result stops it.
func (v *view) Open(name string) (sharefs.File, error) {
	ent, err := v.Stat(name)
	if err != nil {
		return nil, err
	}
	if ent.IsDir {
		return nil, notExist(name)
	}
	plainName := strings.TrimSuffix(name, v.e.Suffix())
	plain, err := v.inner.Stat(plainName)
	if err != nil {
		return nil, err
	}
	f, err := v.inner.Open(plainName)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go v.encryptFile(pw, f, plain)
	return &stream{pr}, nil
}

func (v *view) encryptFile(pw *io.PipeWriter, f sharefs.File, plain sharefs.Entry) {
	defer f.Close()
	w, err := v.e.EncryptTo(pw, plain.Name, plain.Size)
	if err == nil {
		_, err = io.Copy(w, f)
		if err == nil {
			err = w.Close()
		}
	}
	if err != nil {
		err = fmt.Errorf("encrypt %s: %w", plain.Name, err)
	}
	pw.CloseWithError(err)
}

// stream is the read end of an encryption; it has no Seek on purpose.
type stream struct{ r *io.PipeReader }

func (s *stream) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *stream) Close() error               { return s.r.Close() }

func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
