package cardcrypt

import (
	"encoding/base64"
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
	return &armorWriter{
		w:   w,
		crc: crc24Init,
		in:  make([]byte, 0, lineBytes*batchLines),
		out: make([]byte, 0, (lineBytes/3*4+1)*batchLines),
	}, nil
}

func (a *armorWriter) Write(p []byte) (int, error) {
	a.crc = crc24Update(a.crc, p)
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

// crc24Table holds the CRC of each byte value, for byte-at-a-time updates.
var crc24Table = func() (t [256]uint32) {
	for i := range t {
		crc := uint32(i) << 16
		for range 8 {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= crc24Poly
			}
		}
		t[i] = crc & 0xFFFFFF
	}
	return t
}()

func crc24Update(crc uint32, p []byte) uint32 {
	for _, b := range p {
		crc = (crc<<8 ^ crc24Table[byte(crc>>16)^b]) & 0xFFFFFF
	}
	return crc
}
