package sharefs

import (
	"container/list"
	"encoding/binary"
	"syscall"
	"testing"
)

// heldBatch keeps the test's batch on the heap.
var heldBatch []byte

// TestDispatchEventAtBufferEnd: an event in the very last bytes of a
// batch is read without reaching past the buffer. A cast to
// syscall.InotifyEvent (20 bytes in Go, 16 from the kernel) did: the
// race detector's pointer checks stopped the program on it, and a flood
// of changes fills the buffer so that this happens.
func TestDispatchEventAtBufferEnd(t *testing.T) {
	w := &watcher{byPath: map[string]*watchNode{}, byWD: map[int]*watchNode{}, lru: list.New()}
	in := &inotify{w: w}
	// A full batch as the loop reads it: 4,096 events of no name, the
	// last one in the buffer's last 16 bytes.
	buf := make([]byte, 64<<10)
	heldBatch = buf // on the heap, as the loop's buffer is
	for off := 0; off < len(buf); off += syscall.SizeofInotifyEvent {
		binary.NativeEndian.PutUint32(buf[off:], uint32(off))
	}
	in.dispatch(buf)
	// A name length past the batch's end stops the reading there.
	binary.NativeEndian.PutUint32(buf[12:], 1<<20)
	in.dispatch(buf)
}
