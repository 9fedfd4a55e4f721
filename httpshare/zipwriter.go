package httpshare

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// The zip writer streams entries as it reads them (data descriptors, no
// seeking) and keeps, until the central directory at the end, only a
// fixed-size record and the name of each entry, packed in blocks: about
// 80 bytes an entry, no heap object per entry. Record layouts follow
// PKWARE's APPNOTE (sections 4.3 and 4.5) and Info-ZIP's extended
// timestamp.

// zipIndexLimit bounds the bytes of records and names one zip may hold
// (about 200,000 entries). Past it the archive stops without a central
// directory, so the client's download fails rather than passing for
// complete. A variable so that tests can lower it.
var zipIndexLimit = 16 << 20

// zipIndexes bounds the index bytes of all the zips being made at once:
// every folder-job slot a zip at its own limit would be 4 × 16 MiB; they
// share half that, taken a MiB at a time as they grow.
var zipIndexes = &bytePool{left: 32 << 20}

// zipIndexStep is how much of zipIndexes a zip takes at a time.
const zipIndexStep = 1 << 20

// bytePool hands out a bounded number of bytes.
type bytePool struct {
	mu   sync.Mutex
	left int
}

// take takes n bytes, if the pool has them.
func (p *bytePool) take(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.left < n {
		return false
	}
	p.left -= n
	return true
}

// give gives n bytes back.
func (p *bytePool) give(n int) {
	p.mu.Lock()
	p.left += n
	p.mu.Unlock()
}

// errZipFull reports a tree with more entries than one zip may index.
var errZipFull = errors.New("too many entries for one zip (?tar.gz has no such limit)")

// Compression methods.
const (
	zipStore   = 0
	zipDeflate = 8
)

const (
	zipLocalSig      = 0x04034b50
	zipDescriptorSig = 0x08074b50
	zipCentralSig    = 0x02014b50
	zip64EndSig      = 0x06064b50
	zip64LocatorSig  = 0x07064b50
	zipEndSig        = 0x06054b50

	zipVersion20 = 20 // what a plain entry needs to be read
	zipVersion45 = 45 // what a ZIP64 entry or archive needs
	// zipMadeBy says Unix, so that readers apply the modes of the
	// external attributes.
	zipMadeBy = 3<<8 | zipVersion45

	zipFlagDescriptor = 0x0008 // sizes and CRC follow the data
	zipFlagUTF8       = 0x0800 // the name is UTF-8

	zip64ExtraID   = 0x0001
	zipExtTimeID   = 0x5455 // Info-ZIP extended timestamp
	zipExtTimeLen  = 9      // its bytes: ID, size, flags, modification time
	zip64ExtraLen  = 28     // ID, size, three 8-byte values
	zipMax16       = 0xffff
	zipMax32       = 0xffffffff
	zipFileAttrs   = 0o100644 << 16      // regular file, rw-r--r--
	zipFolderAttrs = 0o040755<<16 | 0x10 // folder, rwxr-xr-x, MS-DOS folder bit
)

// zipRecord is what the central directory needs of an entry.
type zipRecord struct {
	offset  uint64 // of the entry's local header
	csize   uint64 // compressed size
	usize   uint64 // uncompressed size
	crc     uint32
	dosTime uint32 // MS-DOS date << 16 | MS-DOS time
	mtime   uint32 // Unix seconds, when hasMtime
	name    uint32 // where the name starts in the index's name blocks
	nameLen uint16
	method  uint8
	bits    uint8 // zipBitFolder, zipBitUTF8, zipBitMtime
}

const (
	zipBitFolder = 1 << iota
	zipBitUTF8
	zipBitMtime
)

// zipRecordSize is what a record costs in the index.
const zipRecordSize = int(unsafe.Sizeof(zipRecord{}))

// Records and names live in blocks that never move once full, so the
// index grows without copying, and a small zip takes small blocks.
const (
	zipRecordBlock = 1024    // records per block
	zipNameBlock   = 1 << 16 // bytes per name block; a name never straddles two
)

// zipIndex holds the records and names of the entries written so far.
type zipIndex struct {
	records [][]zipRecord
	names   [][]byte
	count   int
	bytes   int // of records and names
}

// add appends r, with its name, and returns where the record is kept.
func (x *zipIndex) add(r zipRecord, name string) *zipRecord {
	last := len(x.names) - 1
	if last < 0 || len(x.names[last])+len(name) > zipNameBlock {
		x.names = append(x.names, newBlock[byte](last >= 0, zipNameBlock))
		last++
	}
	r.name = uint32(last*zipNameBlock + len(x.names[last]))
	r.nameLen = uint16(len(name))
	x.names[last] = append(x.names[last], name...)

	if n := len(x.records); n == 0 || len(x.records[n-1]) == zipRecordBlock {
		x.records = append(x.records, newBlock[zipRecord](n > 0, zipRecordBlock))
	}
	n := len(x.records) - 1
	x.records[n] = append(x.records[n], r)
	x.count++
	x.bytes += zipRecordSize + len(name)
	return &x.records[n][len(x.records[n])-1]
}

// newBlock starts a block: the first grows as needed, so that a small zip
// takes little; once one is full, the next is made whole at once.
func newBlock[T any](full bool, size int) []T {
	if full {
		return make([]T, 0, size)
	}
	return nil
}

// nameOf is the name of record r.
func (x *zipIndex) nameOf(r *zipRecord) []byte {
	off := int(r.name % zipNameBlock)
	return x.names[r.name/zipNameBlock][off : off+int(r.nameLen)]
}

// zipWriter writes a zip archive as a stream.
type zipWriter struct {
	out   *bufio.Writer
	n     uint64 // bytes written: the next header's offset
	index zipIndex
	limit int // bytes the index may hold
	held  int // bytes of zipIndexes taken for the index
	hdr   []byte
	entry zipEntryWriter
}

func newZipWriter(w io.Writer, limit int) *zipWriter {
	return &zipWriter{out: bufio.NewWriterSize(w, outBufSize), limit: limit}
}

// Write writes p to the archive, counting its bytes.
// release gives the index's share of zipIndexes back; the writer is not
// used after it.
func (z *zipWriter) release() {
	zipIndexes.give(z.held)
	z.held = 0
}

func (z *zipWriter) Write(p []byte) (int, error) {
	n, err := z.out.Write(p)
	z.n += uint64(n)
	return n, err
}

// addFolder writes a folder entry; name ends with "/".
func (z *zipWriter) addFolder(name string, mod time.Time) error {
	_, err := z.begin(name, mod, zipStore, zipBitFolder)
	return err
}

// addFile writes a file entry whose bytes write gives, compressed with
// method; the data descriptor after them records what was written.
func (z *zipWriter) addFile(name string, mod time.Time, method uint8, write func(io.Writer) error) error {
	r, err := z.begin(name, mod, method, 0)
	if err != nil {
		return err
	}
	e := &z.entry
	*e = zipEntryWriter{dst: z}
	if method == zipDeflate {
		fw, err := newPooledDeflate(z)
		if err != nil {
			return err
		}
		e.dst = fw
	}
	start := z.n
	err = write(e)
	// The compressor goes back to its pool on the error path too.
	if c, ok := e.dst.(io.Closer); ok {
		if cerr := c.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("zip entry %q: %w", name, cerr)
		}
	}
	if err != nil {
		return err
	}
	r.crc, r.usize, r.csize = e.crc, e.size, z.n-start
	return z.writeDescriptor(r)
}

// begin indexes an entry and writes its local header.
func (z *zipWriter) begin(name string, mod time.Time, method, bits uint8) (*zipRecord, error) {
	if len(name) > zipMax16 {
		return nil, fmt.Errorf("zip entry %q: name too long", name[:64])
	}
	need := z.index.bytes + zipRecordSize + len(name)
	if need > z.limit {
		return nil, fmt.Errorf("zip stopped after %d entries, its index full at %d MiB: %w", z.index.count, z.limit>>20, errZipFull)
	}
	for need > z.held {
		step := min(zipIndexStep, z.limit-z.held)
		if !zipIndexes.take(step) {
			return nil, fmt.Errorf("zip stopped after %d entries: the zips being made now hold all their index space: %w", z.index.count, errZipFull)
		}
		z.held += step
	}
	r := zipRecord{offset: z.n, method: method, bits: bits, dosTime: msDosTime(mod)}
	if zipNeedsUTF8(name) {
		r.bits |= zipBitUTF8
	}
	if t := mod.Unix(); t >= 0 && t <= zipMax32 {
		r.mtime, r.bits = uint32(t), r.bits|zipBitMtime
	}
	rec := z.index.add(r, name)
	h := z.hdr[:0]
	h = binary.LittleEndian.AppendUint32(h, zipLocalSig)
	h = binary.LittleEndian.AppendUint16(h, zipVersion20)
	h = binary.LittleEndian.AppendUint16(h, zipFlags(rec))
	h = binary.LittleEndian.AppendUint16(h, uint16(method))
	h = binary.LittleEndian.AppendUint32(h, rec.dosTime)
	h = append(h, make([]byte, 12)...) // CRC and sizes: in the descriptor, or zero for a folder
	h = binary.LittleEndian.AppendUint16(h, uint16(len(name)))
	h = binary.LittleEndian.AppendUint16(h, uint16(extTimeLen(rec)))
	h = append(h, name...)
	h = appendExtTime(h, rec)
	z.hdr = h
	if _, err := z.Write(h); err != nil {
		return nil, fmt.Errorf("zip entry %q: %w", name, err)
	}
	return rec, nil
}

// writeDescriptor writes the data descriptor of file entry r: 8-byte
// sizes when either passes 4 GiB, as ZIP64 readers expect.
func (z *zipWriter) writeDescriptor(r *zipRecord) error {
	h := z.hdr[:0]
	h = binary.LittleEndian.AppendUint32(h, zipDescriptorSig)
	h = binary.LittleEndian.AppendUint32(h, r.crc)
	if r.csize >= zipMax32 || r.usize >= zipMax32 {
		h = binary.LittleEndian.AppendUint64(h, r.csize)
		h = binary.LittleEndian.AppendUint64(h, r.usize)
	} else {
		h = binary.LittleEndian.AppendUint32(h, uint32(r.csize))
		h = binary.LittleEndian.AppendUint32(h, uint32(r.usize))
	}
	z.hdr = h
	if _, err := z.Write(h); err != nil {
		return fmt.Errorf("zip data descriptor: %w", err)
	}
	return nil
}

// close writes the central directory and the end records, ZIP64 ones
// past 65,535 entries or 4 GiB, and flushes the archive.
func (z *zipWriter) close() error {
	start := z.n
	for _, block := range z.index.records {
		for i := range block {
			if err := z.writeCentral(&block[i]); err != nil {
				return err
			}
		}
	}
	if err := z.writeEnd(start, z.n-start); err != nil {
		return err
	}
	if err := z.out.Flush(); err != nil {
		return fmt.Errorf("zip end: %w", err)
	}
	return nil
}

// writeCentral writes the central directory header of r.
func (z *zipWriter) writeCentral(r *zipRecord) error {
	wide := needsZip64(r)
	needed, csize, usize, offset := uint16(zipVersion20), uint32(r.csize), uint32(r.usize), uint32(r.offset)
	extra := extTimeLen(r)
	if wide {
		needed, csize, usize, offset = zipVersion45, zipMax32, zipMax32, zipMax32
		extra += zip64ExtraLen
	}
	attrs := uint32(zipFileAttrs)
	if r.bits&zipBitFolder != 0 {
		attrs = zipFolderAttrs
	}
	name := z.index.nameOf(r)
	h := z.hdr[:0]
	h = binary.LittleEndian.AppendUint32(h, zipCentralSig)
	h = binary.LittleEndian.AppendUint16(h, zipMadeBy)
	h = binary.LittleEndian.AppendUint16(h, needed)
	h = binary.LittleEndian.AppendUint16(h, zipFlags(r))
	h = binary.LittleEndian.AppendUint16(h, uint16(r.method))
	h = binary.LittleEndian.AppendUint32(h, r.dosTime)
	h = binary.LittleEndian.AppendUint32(h, r.crc)
	h = binary.LittleEndian.AppendUint32(h, csize)
	h = binary.LittleEndian.AppendUint32(h, usize)
	h = binary.LittleEndian.AppendUint16(h, r.nameLen)
	h = binary.LittleEndian.AppendUint16(h, uint16(extra))
	h = append(h, make([]byte, 6)...) // comment length, disk, internal attributes
	h = binary.LittleEndian.AppendUint32(h, attrs)
	h = binary.LittleEndian.AppendUint32(h, offset)
	h = append(h, name...)
	h = appendExtTime(h, r)
	if wide {
		h = binary.LittleEndian.AppendUint16(h, zip64ExtraID)
		h = binary.LittleEndian.AppendUint16(h, zip64ExtraLen-4)
		h = binary.LittleEndian.AppendUint64(h, r.usize)
		h = binary.LittleEndian.AppendUint64(h, r.csize)
		h = binary.LittleEndian.AppendUint64(h, r.offset)
	}
	z.hdr = h
	if _, err := z.Write(h); err != nil {
		return fmt.Errorf("zip central directory: %w", err)
	}
	return nil
}

// writeEnd writes the end of central directory record, after the ZIP64
// record and locator when a count, size or offset does not fit it; its
// fields then hold their largest value, which sends readers to ZIP64.
func (z *zipWriter) writeEnd(start, size uint64) error {
	count := uint64(z.index.count)
	h := z.hdr[:0]
	if count >= zipMax16 || size >= zipMax32 || start >= zipMax32 {
		end64 := z.n
		h = binary.LittleEndian.AppendUint32(h, zip64EndSig)
		h = binary.LittleEndian.AppendUint64(h, 44) // bytes of the record after this field
		h = binary.LittleEndian.AppendUint16(h, zipMadeBy)
		h = binary.LittleEndian.AppendUint16(h, zipVersion45)
		h = append(h, make([]byte, 8)...) // this disk, the central directory's disk
		h = binary.LittleEndian.AppendUint64(h, count)
		h = binary.LittleEndian.AppendUint64(h, count)
		h = binary.LittleEndian.AppendUint64(h, size)
		h = binary.LittleEndian.AppendUint64(h, start)
		h = binary.LittleEndian.AppendUint32(h, zip64LocatorSig)
		h = binary.LittleEndian.AppendUint32(h, 0) // disk of the ZIP64 record
		h = binary.LittleEndian.AppendUint64(h, end64)
		h = binary.LittleEndian.AppendUint32(h, 1) // disks
		count, size, start = zipMax16, zipMax32, zipMax32
	}
	h = binary.LittleEndian.AppendUint32(h, zipEndSig)
	h = append(h, make([]byte, 4)...) // this disk, the central directory's disk
	h = binary.LittleEndian.AppendUint16(h, uint16(count))
	h = binary.LittleEndian.AppendUint16(h, uint16(count))
	h = binary.LittleEndian.AppendUint32(h, uint32(size))
	h = binary.LittleEndian.AppendUint32(h, uint32(start))
	h = binary.LittleEndian.AppendUint16(h, 0) // comment length
	z.hdr = h
	if _, err := z.Write(h); err != nil {
		return fmt.Errorf("zip end: %w", err)
	}
	return nil
}

// zipEntryWriter takes an entry's bytes, noting their CRC-32 and count,
// on their way to the compressor or the archive.
type zipEntryWriter struct {
	dst  io.Writer
	crc  uint32
	size uint64
}

// Write implements io.Writer.
func (e *zipEntryWriter) Write(p []byte) (int, error) {
	n, err := e.dst.Write(p)
	e.crc = crc32.Update(e.crc, crc32.IEEETable, p[:n])
	e.size += uint64(n)
	return n, err
}

// zipFlags is the general purpose flags of r.
func zipFlags(r *zipRecord) uint16 {
	var f uint16
	if r.bits&zipBitFolder == 0 {
		f |= zipFlagDescriptor
	}
	if r.bits&zipBitUTF8 != 0 {
		f |= zipFlagUTF8
	}
	return f
}

// needsZip64 reports whether a size or the offset of r passes 4 GiB.
func needsZip64(r *zipRecord) bool {
	return r.csize >= zipMax32 || r.usize >= zipMax32 || r.offset >= zipMax32
}

// extTimeLen is the bytes of r's extended timestamp field.
func extTimeLen(r *zipRecord) int {
	if r.bits&zipBitMtime == 0 {
		return 0
	}
	return zipExtTimeLen
}

// appendExtTime appends r's extended timestamp field, if it has one: the
// modification time to the second, in UTC, which unzip and bsdtar
// restore in preference to the MS-DOS local time.
func appendExtTime(h []byte, r *zipRecord) []byte {
	if r.bits&zipBitMtime == 0 {
		return h
	}
	h = binary.LittleEndian.AppendUint16(h, zipExtTimeID)
	h = binary.LittleEndian.AppendUint16(h, zipExtTimeLen-4)
	h = append(h, 1) // holds the modification time
	return binary.LittleEndian.AppendUint32(h, r.mtime)
}

// msDosTime packs t, in its own time zone, as MS-DOS date << 16 | time:
// two-second steps, years 1980 to 2107, times outside them clamped.
func msDosTime(t time.Time) uint32 {
	switch {
	case t.Year() < 1980:
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, t.Location())
	case t.Year() > 2107:
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, t.Location())
	}
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	date := uint32(year-1980)<<9 | uint32(month)<<5 | uint32(day)
	clock := uint32(hour)<<11 | uint32(minute)<<5 | uint32(sec/2)
	return date<<16 | clock
}

// zipNeedsUTF8 reports whether name must be flagged as UTF-8: it is valid
// UTF-8 and holds a byte that the zip's default code page 437 reads
// otherwise (control characters, backslash, tilde, non-ASCII).
func zipNeedsUTF8(name string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for i := range len(name) {
		if c := name[i]; c < 0x20 || c > 0x7d || c == '\\' {
			return true
		}
	}
	return false
}
