package cardcrypt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"example.com/share/sharefs"
)

// View wraps inner so that every file appears as NAME.gpg (or NAME.asc)
// and reads as its encryption. Plain names do not exist; folders pass
// through. Sizes are exact. A version of a file always encrypts to the
// same message, so opened files seek (when the inner files do).
func (e *Encryptor) View(inner sharefs.View) sharefs.View {
	return &view{inner: inner, e: e}
}

type view struct {
	inner sharefs.View
	e     *Encryptor
	lists encryptedLists
}

// encryptedListsMax bounds the encrypted listings kept.
const encryptedListsMax = 64

// encryptedLists keeps the encrypted form of inner listings, by folder,
// while the inner view hands out the same listing (the same array).
type encryptedLists struct {
	mu sync.Mutex
	m  map[string]encryptedList
}

type encryptedList struct {
	inner []sharefs.Entry
	out   []sharefs.Entry
}

func (c *encryptedLists) get(name string, inner []sharefs.Entry) ([]sharefs.Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[name]
	if !ok || len(inner) == 0 || len(l.inner) != len(inner) || &l.inner[0] != &inner[0] {
		return nil, false
	}
	return l.out, true
}

func (c *encryptedLists) put(name string, inner, out []sharefs.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= encryptedListsMax {
		c.m = map[string]encryptedList{} // start again: simpler than an LRU, and rare
	}
	c.m[name] = encryptedList{inner, out}
}

// Plain is the view under the encryption, for servers that build one
// message from many files (a folder archive) and encrypt it as a whole.
func (v *view) Plain() sharefs.View { return v.inner }

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

// Recipients says whom every download is encrypted to, one line per
// key: its user ID when known and the primary key's fingerprint, the one
// gpg --list-keys shows (or the encryption key's, for a card whose
// primary key is not known here).
func (v *view) Recipients() []string { return v.e.Recipients() }

// Recipients is View's Recipients.
func (e *Encryptor) Recipients() []string {
	var out []string
	for _, k := range e.keys {
		out = append(out, k.Describe())
	}
	return out
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
	return v.encrypted(plain, ent), nil
}

// encrypted describes the encrypted form of the file at path. Its
// version is the message's: it changes with the file, the keys and the
// secret, and differs from the plain file's; unknown when the plain
// file's is.
func (v *view) encrypted(path string, ent sharefs.Entry) sharefs.Entry {
	id, err := v.e.fileID(path, ent)
	size := v.e.EncryptedSize(ent.Name, ent.Size)
	ent.Name += v.e.Suffix()
	ent.Size = size
	if err != nil {
		ent.Version = sharefs.Version{}
	} else {
		ent.Version = ent.Version.Derive(binary.BigEndian.Uint64(id[:8]))
	}
	return ent
}

// List implements sharefs.View. The inner listing is shared, so the
// encrypted one is a copy, kept while the inner view returns the same
// listing.
func (v *view) List(name string) ([]sharefs.Entry, error) {
	ents, err := v.inner.List(name)
	if err != nil {
		return nil, err
	}
	if out, ok := v.lists.get(name, ents); ok {
		return out, nil
	}
	out := make([]sharefs.Entry, len(ents))
	for i, ent := range ents {
		out[i] = ent
		if !ent.IsDir {
			out[i] = v.encrypted(path.Join(name, ent.Name), ent)
		}
	}
	sharefs.Sort(out)
	v.lists.put(name, ents, out)
	return out, nil
}

// Watch implements sharefs.View: a file's token is its plain file's.
func (v *view) Watch(name string) *sharefs.Token {
	if plain, ok := strings.CutSuffix(name, v.e.Suffix()); ok {
		if ent, err := v.inner.Stat(name); err != nil || !ent.IsDir {
			return v.inner.Watch(plain)
		}
	}
	return v.inner.Watch(name)
}

// Open implements sharefs.View. The file is encrypted as it is read, in
// the reader's goroutine; the result seeks when the inner file does.
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
	if osf, ok := f.(*os.File); ok {
		// The message is made from the version opened, not the one
		// described a moment before: its key must fit its bytes.
		opened, err := sharefs.Describe(osf)
		if err != nil {
			f.Close()
			return nil, err
		}
		opened.Name = plain.Name
		plain = opened
	}
	// A file that grows while it is sent (a log being written) goes out as
	// it was when opened: the size the listing announced. One that
	// shrinks cannot, and fails.
	r := &stream{f: snapshot{io.LimitReader(f, plain.Size), f}, name: plain.Name, size: plain.Size}
	if rs, ok := f.(io.ReadSeeker); ok && plain.Size >= 0 && !plain.Version.IsZero() {
		s, err := v.e.openResumable(r, plainName, plain, rs)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("encrypt %s: %w", plain.Name, err)
		}
		return s, nil
	}
	r.msg, err = v.e.EncryptTo(&r.out, plain.Name, plain.Size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("encrypt %s: %w", plain.Name, err)
	}
	return r, nil
}

// stream is an encrypted file being read: each Read encrypts the next
// chunk of plaintext into out, then hands out what is ready. WriteTo
// (which io.Copy prefers) encrypts straight to its writer instead.
type stream struct {
	f    sharefs.File
	name string
	msg  io.WriteCloser
	size int64 // of the plaintext, as opened
	out  sink
	err  error // sticky: io.EOF once the message is complete
	pos  int64 // bytes of the file encrypted
	res  *resume
	// ctx, when set, ends long work (catch-ups) once its client is gone;
	// started is called once before a long catch-up begins; client
	// waits for its own earlier long catch-up.
	ctx     context.Context
	client  netip.Addr
	started func()
}

// sink is where a stream's message goes: the buffer Read hands out from,
// or during WriteTo the writer itself.
type sink struct {
	buf  bytes.Buffer
	to   io.Writer // set during WriteTo
	n    int64     // bytes written to to
	err  error     // the first error of to
	made int64     // bytes of message made, here or sealed in place
	skip int64     // bytes still to drop: before the offset sought
}

func (k *sink) Write(p []byte) (int, error) {
	total := len(p)
	k.made += int64(total)
	if k.skip > 0 {
		drop := min(k.skip, int64(len(p)))
		k.skip -= drop
		p = p[drop:]
	}
	if k.to == nil {
		k.buf.Write(p)
		return total, nil
	}
	n, err := k.to.Write(p)
	k.n += int64(n)
	if err != nil && k.err == nil {
		k.err = err
	}
	return total - len(p) + n, err
}

// minSealedRead is the smallest Read that gets the file read straight
// into it and encrypted there.
const minSealedRead = 4 << 10

func (s *stream) Read(p []byte) (int, error) {
	s.settle()
	if s.out.buf.Len() == 0 && s.err == nil && len(p) >= minSealedRead {
		// Without SHA instructions, fill hashes on another core instead.
		if m, ok := s.msg.(*message); ok && m.canSealInPlace() && m.hashesInLoop() {
			if n := s.readSealed(m, p); n > 0 {
				return n, nil
			}
		}
	}
	for s.out.buf.Len() == 0 && s.err == nil {
		s.fill(len(p))
	}
	if s.out.buf.Len() > 0 {
		n, err := s.out.buf.Read(p)
		s.out.drained()
		return n, err
	}
	return 0, s.err
}

// WriteTo encrypts the rest of the file to w, each chunk's ciphertext
// written as it is made: no copy through Read's buffer, and writes of
// maxWrite bytes. An error of w is returned as it is.
func (s *stream) WriteTo(w io.Writer) (int64, error) {
	s.settle()
	total, err := s.out.buf.WriteTo(w)
	s.out.drained()
	if err != nil {
		s.err = err
		return total, err
	}
	s.out.to, s.out.n, s.out.err = w, 0, nil
	if m, ok := s.msg.(*message); ok && s.err == nil && m.canSealInPlace() {
		s.pipe(m, w, -1)
	}
	g := newGate(w)
	for s.err == nil {
		most, err := g.next(streamChunk, func() int64 { return 0 }, nil)
		if err != nil {
			s.out.err = err
			s.err = fmt.Errorf("encrypt %s: %w", s.name, err)
			break
		}
		s.fill(int(most))
	}
	total += s.out.n
	werr := s.out.err
	s.out.to = nil
	switch {
	case werr != nil:
		return total, werr
	case s.err == io.EOF:
		return total, nil
	}
	return total, s.err
}

// pipe streams the rest of the file to w in three stages on as many
// cores: a goroutine reads the file into a chunk, this one encrypts it in
// place (hashing it in the same pass, or where the CPU cannot, after a
// fourth goroutine has hashed it), another writes it to w, and the chunk
// goes back to the pool. The reader reads no more ahead than w can take
// (streammem.go), so a stalled client holds no chunk. The plaintext is copied once,
// from the file, and the ciphertext once, to the connection. pipe ends
// with s.err set; the message's end (the MDC) is left to fill. With stop
// of 0 or more it ends instead, with s.err nil, once the file is
// through up to that offset.
func (s *stream) pipe(m *message, w io.Writer, stop int64) {
	hashStage := !m.hashesInLoop()
	nbuf := pipeBuffers
	if hashStage {
		nbuf++
	}
	// A turn per chunk in flight; the chunks themselves are borrowed as
	// they are read into and given back once written (streammem.go).
	free := make(chan struct{}, nbuf)
	for range nbuf {
		free <- struct{}{}
	}
	var lend lender
	defer lend.close()
	g := newGate(w)
	var busy atomic.Int64           // bytes read and not yet written
	wrote := make(chan struct{}, 1) // a write is done: for a reader that waits
	type piece struct {
		b   []byte
		err error
		mdc []byte // the hash's state after b, where a checkpoint is due
	}
	plain := make(chan piece, nbuf)
	sealed := make(chan []byte, nbuf)
	quit := make(chan struct{})   // closed when this goroutine stops: the reader stops too
	failed := make(chan struct{}) // closed by the writer when w fails
	var (
		wg      sync.WaitGroup
		written int64
		werr    error
		roomErr error // of the writer's Room, as the reader asked
	)
	release := func(b []byte) { // a chunk is through: a waiting reader may go on
		lend.giveBack(b)
		select {
		case wrote <- struct{}{}:
		default:
		}
	}
	waitWrite := func() bool {
		select {
		case <-wrote:
			return true
		case <-quit:
			return false
		}
	}
	at := s.pos    // the reader's place in the file; pieces end at checkpoints
	wg.Go(func() { // reader
		defer close(plain)
		for empty := 0; ; {
			select {
			case <-free:
			case <-quit:
				return
			}
			b, err := s.nextPiece(&g, &lend, at, stop, busy.Load, waitWrite)
			switch {
			case err == errQuit:
				return
			case err != nil && err != errStopped && !errors.Is(err, errGone):
				roomErr, err = err, errWriteFailed
			}
			if err != nil {
				select {
				case plain <- piece{b, err, nil}:
				case <-quit:
				}
				return
			}
			n, err := s.f.Read(b)
			busy.Add(int64(n))
			at += int64(n)
			if n > 0 || err != nil {
				empty = 0
			} else if empty++; empty == 100 {
				err = io.ErrNoProgress
			}
			var mdc []byte
			if s.res != nil && hashStage && at%s.res.every == 0 {
				mdc = []byte{} // the hasher records the state
			}
			select {
			case plain <- piece{b[:n], err, mdc}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	})
	input := plain
	if hashStage {
		hashed := make(chan piece, nbuf)
		input = hashed
		wg.Go(func() { // hasher: ends when the reader does
			defer close(hashed)
			for p := range plain {
				m.hashPlain(p.b)
				if p.mdc != nil {
					p.mdc = m.mdcState()
				}
				hashed <- p // room for every chunk: never blocks
			}
		})
	}
	wg.Go(func() { // writer
		for b := range sealed {
			if werr == nil {
				var n int
				n, werr = w.Write(b)
				written += int64(n)
				if werr == nil && n < len(b) {
					werr = io.ErrShortWrite
				}
				if werr != nil {
					close(failed)
				}
			}
			busy.Add(-int64(len(b)))
			release(b)
			free <- struct{}{} // room for every turn: never blocks
		}
	})
	for s.err == nil {
		var p piece
		select {
		case q, ok := <-input:
			if !ok { // the reader ends after an error piece: not here
				s.err = fmt.Errorf("read %s: %w", s.name, io.ErrUnexpectedEOF)
				continue
			}
			p = q
		case <-failed:
			s.err = errWriteFailed
			continue
		}
		if len(p.b) > 0 {
			if err := m.sealInPlace(p.b, hashStage); err != nil {
				s.err = fmt.Errorf("encrypt %s: %w", s.name, err)
				continue
			}
			s.out.made += int64(len(p.b))
			if hashStage && len(p.mdc) == 0 {
				s.pos += int64(len(p.b)) // the message's hash is ahead: no checkpoint
			} else {
				s.advance(len(p.b), p.mdc)
			}
			sealed <- p.b
		} else {
			if p.b != nil {
				release(p.b)
			}
			free <- struct{}{}
		}
		switch {
		case p.err == io.EOF:
			s.err = errPiped
		case p.err == errStopped || p.err == errWriteFailed || errors.Is(p.err, errGone):
			s.err = p.err
		case p.err != nil:
			s.err = fmt.Errorf("read %s: %w", s.name, p.err)
		}
	}
	close(quit)
	close(sealed)
	wg.Wait()
	s.out.n += written
	if werr == nil {
		werr = roomErr
	}
	if werr != nil {
		s.out.err = werr
		s.err = fmt.Errorf("encrypt %s: %w", s.name, werr)
		return
	}
	if s.err == errStopped {
		s.err = nil
		return
	}
	if s.err == errPiped {
		// The whole file is through: end the message as fill would.
		s.err = nil
		if cerr := s.msg.Close(); cerr != nil {
			s.err = fmt.Errorf("encrypt %s: %w", s.name, cerr)
			return
		}
		s.err = io.EOF
	}
}

// nextPiece waits for the pipe's reader to be let read, and returns the
// chunk to read into, cut to what may be read: up to the next
// checkpoint, to stop, and to what the writer can take (gate). Its error
// is the stream's end (errGone, errStopped), errQuit once the pipe stops,
// or the writer's Room's.
func (s *stream) nextPiece(g *gate, lend *lender, at, stop int64, busy func() int64, waitWrite func() bool) ([]byte, error) {
	if err := s.gone(); err != nil {
		return nil, err
	}
	if stop >= 0 && at >= stop {
		return nil, errStopped
	}
	want := int64(streamChunk)
	if s.res != nil {
		want = min(want, s.res.every-at%s.res.every)
	}
	if stop >= 0 {
		want = min(want, stop-at)
	}
	want, err := g.next(want, busy, waitWrite)
	if err != nil {
		return nil, err
	}
	for {
		if b := lend.borrow(); b != nil {
			return b[:want], nil
		}
		if !waitWrite() {
			return nil, errQuit
		}
	}
}

var (
	errGone        = errors.New("stopped: its client has gone")
	errPiped       = errors.New("the whole file went through the pipe")
	errStopped     = errors.New("the pipe reached where it was to stop")
	errWriteFailed = errors.New("write failed")
	errQuit        = errors.New("the pipe stopped")
)

// gone is the error of a stream whose context has ended, or nil.
func (s *stream) gone() error {
	if s.ctx == nil || s.ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("encrypt %s: %w (%w)", s.name, errGone, context.Cause(s.ctx))
}

// readSealed reads the file into p and encrypts it there: no buffer of
// the stream's own, no copy. At the end of the file the rest of the
// message goes to out, for the next Read.
func (s *stream) readSealed(m *message, p []byte) int {
	n, err := s.f.Read(p[:s.room(len(p))])
	if n > 0 {
		if serr := m.sealInPlace(p[:n], false); serr != nil {
			s.err = fmt.Errorf("encrypt %s: %w", s.name, serr)
			return 0
		}
		s.out.made += int64(n)
		s.advance(n, nil)
	}
	switch {
	case err == io.EOF:
		if cerr := s.msg.Close(); cerr != nil {
			s.err = fmt.Errorf("encrypt %s: %w", s.name, cerr)
			return 0
		}
		s.err = io.EOF
	case err != nil:
		s.err = fmt.Errorf("read %s: %w", s.name, err)
	}
	return n
}

// fill encrypts up to most bytes of the file (at least 512), or ends
// the message at the end of the file. A small file is read whole, with
// a byte more to see its end in the same read.
func (s *stream) fill(most int) {
	chunk := getChunk()
	defer putChunk(chunk)
	want := min(max(int64(most), 512), max(s.size+1, 512), streamChunk)
	n, err := s.f.Read(chunk[:s.room(int(want))])
	if n > 0 {
		if _, werr := s.msg.Write(chunk[:n]); werr != nil {
			s.err = fmt.Errorf("encrypt %s: %w", s.name, werr)
			return
		}
		s.advance(n, nil)
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
	s.out = sink{}
	return s.f.Close()
}

var errClosed = errors.New("read of a closed encrypted file")

// snapshot reads a file up to the size it had when opened.
type snapshot struct {
	io.Reader
	io.Closer
}

func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
