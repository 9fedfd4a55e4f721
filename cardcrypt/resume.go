package cardcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"example.com/share/sharefs"
)

// seekStream is an encrypted file that can seek, so servers offer ranges
// and resume: its message is the same bytes on every open (see derive.go),
// and a seek starts from the nearest checkpoint at or before the offset.
type seekStream struct{ *stream }

// resume is what a stream needs to seek.
type resume struct {
	e       *Encryptor
	path    string // of the plain file in the view
	plain   sharefs.Entry
	file    io.ReadSeeker // the plaintext file
	marks   *fileMarks
	total   int64 // size of the message
	every   int64 // spacing of checkpoints in the file
	ci      *cfbCipher
	target  int64 // where the next Read starts, when pending
	pending bool
}

// openResumable starts the message of file f, which can seek.
func (e *Encryptor) openResumable(s *stream, path string, plain sharefs.Entry, f io.ReadSeeker) (*seekStream, error) {
	id, err := e.fileID(path, plain)
	if err != nil {
		return nil, err
	}
	s.res = &resume{
		e: e, path: path, plain: plain, file: f,
		marks: e.marks.file(id),
		total: e.EncryptedSize(plain.Name, plain.Size),
		every: markEvery(plain.Size),
	}
	if err := s.restart(0); err != nil {
		return nil, err
	}
	s.res.ci = s.msg.(*message).enc.aes
	return &seekStream{s}, nil
}

// Seek implements io.Seeker. It only records the offset: the next Read
// or WriteTo goes there.
func (s *seekStream) Seek(offset int64, whence int) (int64, error) {
	r := s.res
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.offset()
	case io.SeekEnd:
		offset += r.total
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative offset")
	}
	r.target, r.pending = offset, true
	return offset, nil
}

// Size is the size of the whole message.
func (s *seekStream) Size() int64 { return s.res.total }

// offset is where the next Read starts.
func (s *stream) offset() int64 {
	if s.res.pending {
		return s.res.target
	}
	return s.out.made - int64(s.out.buf.Len())
}

// settle moves the message to a pending seek's offset.
func (s *stream) settle() {
	r := s.res
	if r == nil || !r.pending || s.err == errClosed {
		return
	}
	r.pending = false
	if (s.err == nil || s.err == io.EOF) && r.target == s.out.made-int64(s.out.buf.Len()) {
		return
	}
	if r.target >= r.total {
		s.out.buf.Reset()
		s.out.made, s.err = r.total, io.EOF
		return
	}
	s.out.buf.Reset() // what it holds is from before the seek: never for a failed one
	cp, ok := s.e().marks.nearest(r.marks, r.target)
	if r.target-cp.out > minMarkEvery {
		s.announce() // the catch-up is more than a moment's work
	}
	if r.target-cp.out > r.every {
		// Encrypting far past what any checkpoint covers: one such catch-up
		// per file, and few at once; a catch-up waiting here finds the
		// checkpoints the one before it left.
		release, err := s.beginCatchUp()
		if err != nil {
			s.err = err
			return
		}
		defer release()
		cp, ok = r.e.marks.nearest(r.marks, r.target)
	}
	var err error
	if ok {
		err = s.resumeAt(&cp, r.target)
	} else {
		err = s.restart(r.target)
	}
	if err != nil {
		s.err = err
		return
	}
	s.skipFast()
	for s.out.skip > 0 && s.err == nil {
		if s.err = s.gone(); s.err == nil {
			s.fill(int(min(s.out.skip, streamChunk))) // no more after the offset than a Read takes
		}
	}
}

// announce calls the stream's started hook, once: its server can send
// what it has before a wait and a catch-up (up to an interval between
// checkpoints, which is more than minMarkEvery in files over 4 GiB).
func (s *stream) announce() {
	if s.started != nil {
		s.started()
		s.started = nil
	}
}

// beginCatchUp waits for its client's turn at a long catch-up, then
// the file's, then for one of the few places for them, giving up once
// the stream's context ends; release gives all back.
func (s *stream) beginCatchUp() (release func(), err error) {
	var done <-chan struct{}
	if s.ctx != nil {
		done = s.ctx.Done()
	}
	marks := s.res.e.marks
	client, ok := marks.clients.take(s.client, done)
	if !ok {
		return nil, s.gone()
	}
	file, all := s.res.marks.catchUp, marks.longCatchUp
	if !enter(file, done) {
		client()
		return nil, s.gone()
	}
	if !enter(all, done) {
		<-file
		client()
		return nil, s.gone()
	}
	return func() { <-all; <-file; client() }, nil
}

// Bind ties the file's long work to ctx and its client: a catch-up (a
// seek past every checkpoint encrypts the file up to there before its
// first byte) stops once ctx ends, and the read fails; a client has one
// such catch-up at a time (client is the clientaddr key; the zero
// address is no client). started, if not nil, is called once, in the
// reading goroutine, before any catch-up of more than minMarkEvery
// begins, so a server can send its headers first.
func (s *seekStream) Bind(ctx context.Context, client netip.Addr, started func()) {
	s.ctx, s.client, s.started = ctx, client, started
}

// Binder is an encrypted file that can seek (what View's Open returns
// for a regular file): see Bind.
type Binder interface {
	Bind(ctx context.Context, client netip.Addr, started func())
}

// pipeSkip is the least skip worth the pipeline (a variable for tests).
var pipeSkip int64 = 1 << 20

// skipFast drops most of a long skip through the pipeline, where the
// message's bytes are the file's, one for one.
func (s *stream) skipFast() {
	m, ok := s.msg.(*message)
	if !ok || !m.canSealInPlace() || s.out.skip < pipeSkip {
		return
	}
	from := s.pos
	s.pipe(m, io.Discard, min(s.pos+s.out.skip, s.size))
	s.out.skip -= s.pos - from
}

func (s *stream) e() *Encryptor { return s.res.e }

// restart makes the message from its beginning, dropping its first skip
// bytes.
func (s *stream) restart(skip int64) error {
	r := s.res
	if err := s.seekPlain(0); err != nil {
		return err
	}
	rnd, err := r.e.randomness(r.path, r.plain)
	if err != nil {
		return err
	}
	s.out.buf.Reset()
	s.out.made, s.out.skip = 0, skip
	m, err := r.e.encrypt(&s.out, r.plain.Name, r.plain.Size, rnd)
	if err != nil {
		return fmt.Errorf("encrypt %s: %w", s.name, err)
	}
	s.msg, s.pos, s.err = m, 0, nil
	return nil
}

// resumeAt goes on from checkpoint cp, dropping the bytes before target.
func (s *stream) resumeAt(cp *checkpoint, target int64) error {
	if err := s.seekPlain(cp.plain); err != nil {
		return err
	}
	m, err := restore(cp, &s.out, s.res.ci)
	if err != nil {
		return fmt.Errorf("encrypt %s: %w", s.name, err)
	}
	s.out.buf.Reset()
	s.out.made, s.out.skip = cp.out, target-cp.out
	s.msg, s.pos, s.err = m, cp.plain, nil
	return nil
}

// seekPlain moves the plaintext file to offset, reading it up to the
// size it had when opened.
func (s *stream) seekPlain(offset int64) error {
	r := s.res
	if _, err := r.file.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("seek %s: %w", s.name, err)
	}
	s.f = snapshot{io.LimitReader(r.file, r.plain.Size-offset), s.f.(snapshot).Closer}
	return nil
}

// room is how much of n bytes of file may be encrypted before the next
// checkpoint is due.
func (s *stream) room(n int) int {
	if s.res == nil {
		return n
	}
	return int(min(int64(n), s.res.every-s.pos%s.res.every))
}

// advance counts n more bytes of file encrypted, and records a checkpoint
// where one is due. mdc is the hash's state there, when another goroutine
// hashes ahead.
func (s *stream) advance(n int, mdc []byte) {
	s.pos += int64(n)
	r := s.res
	if r == nil || s.pos%r.every != 0 || s.pos >= r.plain.Size || r.e.marks.has(r.marks, s.pos) {
		return
	}
	cp, err := s.msg.(*message).snapshot(s.pos, s.out.made, mdc)
	if err != nil {
		return // no checkpoint: a later seek encrypts a little more
	}
	r.e.marks.add(r.marks, cp)
}
