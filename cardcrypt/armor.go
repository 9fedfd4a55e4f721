package cardcrypt

import (
	"encoding/base64"
	"encoding/binary"
	"io"
)

// The armor is written here rather than with a general encoder so that
// its size is a plain function of the binary size: no headers, 64
// characters a line, a CRC-24 line, LF line ends.
const (
	armorBegin   = "-----BEGIN PGP MESSAGE-----\n\n"
	armorEnd     = "-----END PGP MESSAGE-----\n"
	armorCRCLine = 6  // "=" four characters "\n"
	lineBytes    = 48 // binary bytes per 64-character line
	batchLines   = 85 // lines encoded per write
)

// armoredSize is the size of the armor around n binary bytes.
func armoredSize(n int64) int64 {
	lines := (n + lineBytes - 1) / lineBytes
	chars := (n + 2) / 3 * 4
	return int64(len(armorBegin)) + chars + lines + armorCRCLine + int64(len(armorEnd))
}

// armorWriter writes OpenPGP ASCII armor (RFC 4880, 6.2) around a message.
type armorWriter struct {
	w   io.Writer
	crc uint32
	in  []byte // binary bytes not yet encoded
	out []byte
}

func newArmorWriter(w io.Writer) (*armorWriter, error) {
	if _, err := io.WriteString(w, armorBegin); err != nil {
		return nil, err
	}
	return newArmorState(w, crc24Init), nil
}

// newArmorState is an armorWriter past its first line, with checksum crc.
func newArmorState(w io.Writer, crc uint32) *armorWriter {
	return &armorWriter{
		w:   w,
		crc: crc,
		in:  make([]byte, 0, lineBytes*batchLines),
		out: make([]byte, 0, (lineBytes/3*4+1)*batchLines),
	}
}

func (a *armorWriter) Write(p []byte) (int, error) {
	if len(p) < parallelHash {
		a.crc = crc24Update(a.crc, p)
		return a.encode(p)
	}
	// The checksum and the encoding each take a core's worth of time.
	done := make(chan struct{})
	go func() {
		a.crc = crc24Update(a.crc, p)
		close(done)
	}()
	n, err := a.encode(p)
	<-done
	return n, err
}

// encode base64-encodes p in lines, keeping a partial line for later.
func (a *armorWriter) encode(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := copy(a.in[len(a.in):cap(a.in)], p)
		a.in = a.in[:len(a.in)+n]
		p = p[n:]
		written += n
		if len(a.in) == cap(a.in) {
			if err := a.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush encodes the pending bytes as lines.
func (a *armorWriter) flush() error {
	a.out = a.out[:0]
	for in := a.in; len(in) > 0; {
		n := min(len(in), lineBytes)
		a.out = base64.StdEncoding.AppendEncode(a.out, in[:n])
		a.out = append(a.out, '\n')
		in = in[n:]
	}
	a.in = a.in[:0]
	_, err := a.w.Write(a.out)
	return err
}

// Close writes the last line, the checksum and the footer.
func (a *armorWriter) Close() error {
	if err := a.flush(); err != nil {
		return err
	}
	crc := []byte{byte(a.crc >> 16), byte(a.crc >> 8), byte(a.crc)}
	tail := "=" + base64.StdEncoding.EncodeToString(crc) + "\n" + armorEnd
	_, err := io.WriteString(a.w, tail)
	return err
}

// CRC-24 of RFC 4880, 6.1.
const (
	crc24Init = 0xB704CE
	crc24Poly = 0x1864CFB
)

// crc24Tables drive a slicing-by-4 CRC-24. The register is kept
// left-aligned in 32 bits; table k gives the effect of a byte followed by
// k zero bytes.
var crc24Tables = func() (t [4][256]uint32) {
	for i := range t[0] {
		crc := uint32(i) << 16
		for range 8 {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= crc24Poly
			}
		}
		t[0][i] = (crc & 0xFFFFFF) << 8
	}
	for k := 1; k < 4; k++ {
		for i := range t[k] {
			prev := t[k-1][i]
			t[k][i] = prev<<8 ^ t[0][prev>>24]
		}
	}
	return t
}()

func crc24Update(crc uint32, p []byte) uint32 {
	r := crc << 8
	t := &crc24Tables
	for len(p) >= 4 {
		r ^= binary.BigEndian.Uint32(p)
		r = t[3][r>>24] ^ t[2][byte(r>>16)] ^ t[1][byte(r>>8)] ^ t[0][byte(r)]
		p = p[4:]
	}
	for _, b := range p {
		r = r<<8 ^ t[0][byte(r>>24)^b]
	}
	return r >> 8
}
