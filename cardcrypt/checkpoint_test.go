package cardcrypt

import (
	"encoding/binary"
	"testing"
)

// TestCheckpointStoreBounded: every file opened gets an entry, most
// never a checkpoint (a crawl of many small files); the entries count
// against the memory cap, so the store stays bounded and drops the least
// recently read first, and a file dropped while read and opened anew
// keeps one entry.
func TestCheckpointStoreBounded(t *testing.T) {
	s := newCheckpoints()
	id := func(i int) fileID {
		var b fileID
		binary.BigEndian.PutUint64(b[:], uint64(i))
		return b
	}
	const opened = 3 * marksMemory / fileCost
	first := s.file(id(0))
	s.add(first, checkpoint{plain: 1, out: 1, mdc: make([]byte, 100)})
	for i := 1; i < opened; i++ {
		f := s.file(id(i))
		if i%1000 == 0 {
			s.add(f, checkpoint{plain: 4 << 20, out: 4 << 20, mdc: make([]byte, 100)})
		}
	}
	if s.bytes > marksMemory || len(s.files) > marksMemory/fileCost || s.lru.Len() != len(s.files) {
		t.Fatalf("%d files opened: %d entries, %d listed, %d bytes (cap %d)", opened, len(s.files), s.lru.Len(), s.bytes, marksMemory)
	}
	if _, kept := s.files[id(0)]; kept || first.marks != nil {
		t.Fatal("the least recently read file was kept")
	}
	if _, kept := s.files[id(opened-1)]; !kept {
		t.Fatal("the most recently read file was dropped")
	}

	// The first file is opened anew while its dropped entry is still read.
	again := s.file(id(0))
	s.add(first, checkpoint{plain: 8 << 20, out: 8 << 20})
	if e := s.files[id(0)]; e == nil || e.Value.(*fileMarks) != again || first.elem != nil {
		t.Fatal("a dropped entry took the place of the file's newer one")
	}
	total := 0
	for e := s.lru.Front(); e != nil; e = e.Next() {
		total += e.Value.(*fileMarks).bytes
	}
	if total != s.bytes || s.lru.Len() != len(s.files) {
		t.Fatalf("entries hold %d bytes, the store counts %d; %d listed, %d mapped", total, s.bytes, s.lru.Len(), len(s.files))
	}
}
