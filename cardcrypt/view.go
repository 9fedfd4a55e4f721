package cardcrypt

import (
	"bytes"
	"errors"
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

// Encrypting is implemented by the views Encryptor.View returns, so a
// server can encrypt what it builds itself (a folder archive) the same
// way, and name it with the same suffix.
type Encrypting interface {
	Suffix() string
	EncryptTo(w io.Writer, name string, size int64) (io.WriteCloser, error)
}

// Suffix implements Encrypting.
func (v *view) Suffix() string { return v.e.Suffix() }

// EncryptTo implements Encrypting.
func (v *view) EncryptTo(w io.Writer, name string, size int64) (io.WriteCloser, error) {
	return v.e.EncryptTo(w, name, size)
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

// Open implements sharefs.View. The file is encrypted as it is read, in
// the reader's goroutine; the result has no Seek.
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
	r := &stream{f: f, name: plain.Name, chunk: make([]byte, streamChunk)}
	r.msg, err = v.e.EncryptTo(&r.out, plain.Name, plain.Size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("encrypt %s: %w", plain.Name, err)
	}
	return r, nil
}

// streamChunk is how much plaintext a stream encrypts at a time.
const streamChunk = 64 << 10

// stream is an encrypted file being read: each Read encrypts the next
// chunk of plaintext into out, then hands out what is ready.
type stream struct {
	f     sharefs.File
	name  string
	msg   io.WriteCloser
	out   bytes.Buffer
	chunk []byte
	err   error // sticky: io.EOF once the message is complete
}

func (s *stream) Read(p []byte) (int, error) {
	for s.out.Len() == 0 && s.err == nil {
		s.fill()
	}
	if s.out.Len() > 0 {
		return s.out.Read(p)
	}
	return 0, s.err
}

// fill encrypts the next chunk, or ends the message at the end of the file.
func (s *stream) fill() {
	n, err := s.f.Read(s.chunk)
	if n > 0 {
		if _, werr := s.msg.Write(s.chunk[:n]); werr != nil {
			s.err = fmt.Errorf("encrypt %s: %w", s.name, werr)
			return
		}
	}
	switch {
	case err == io.EOF:
		if cerr := s.msg.Close(); cerr != nil {
			s.err = fmt.Errorf("encrypt %s: %w", s.name, cerr)
			return
		}
		s.err = io.EOF
	case err != nil:
		s.err = fmt.Errorf("read %s: %w", s.name, err)
	}
}

// Close releases the plaintext file.
func (s *stream) Close() error {
	if s.err == errClosed {
		return nil
	}
	s.err = errClosed
	s.out = bytes.Buffer{}
	return s.f.Close()
}

var errClosed = errors.New("read of a closed encrypted file")

func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
