package httpshare

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchMask is every change that alters a folder's listing: entries
// created, deleted, renamed, written or re-attributed, and the folder
// itself going away.
const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// watcher reports changes to cached folders through inotify. It only
// signals; every read of the folder still goes through the view. Its
// add and release methods are called with listingCache.mu held.
type watcher struct {
	root    string
	fd      int
	file    *os.File // fd in Go's poller, so close wakes the reader
	names   map[int]map[string]bool
	changed func(wd int)
	done    chan struct{}
}

// newWatcher starts an inotify instance for the folder at root. changed
// is called with the watch of every event, or -1 when events were lost.
func newWatcher(root string, changed func(wd int)) (*watcher, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("inotify root %q: %w", root, err)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &watcher{
		root:    abs,
		fd:      fd,
		file:    os.NewFile(uintptr(fd), "inotify"),
		names:   map[int]map[string]bool{},
		changed: changed,
		done:    make(chan struct{}),
	}
	go w.loop()
	return w, nil
}

// add watches folder name and returns the watch, or -1 if the kernel
// refuses (watch limit reached, folder gone): the cache then polls.
func (w *watcher) add(name string) int {
	wd, err := unix.InotifyAddWatch(w.fd, filepath.Join(w.root, filepath.FromSlash(name)), watchMask)
	if err != nil {
		return -1
	}
	if w.names[wd] == nil {
		w.names[wd] = map[string]bool{}
	}
	w.names[wd][name] = true
	return wd
}

// release drops name from watch wd, and the watch once nothing uses it.
func (w *watcher) release(wd int, name string) {
	set := w.names[wd]
	delete(set, name)
	if len(set) > 0 {
		return
	}
	delete(w.names, wd)
	// The folder may be gone already, which removed the watch.
	_, _ = unix.InotifyRmWatch(w.fd, uint32(wd))
}

// loop reads events until the watcher is closed.
func (w *watcher) loop() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.changed(-1)
			}
			return
		}
		w.dispatch(buf[:n])
	}
}

// dispatch reports each event's watch; an overflow reports -1.
func (w *watcher) dispatch(buf []byte) {
	last := -2
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		wd := int(ev.Wd)
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			wd = -1
		}
		if wd != last {
			w.changed(wd)
			last = wd
		}
		buf = buf[unix.SizeofInotifyEvent+int(ev.Len):]
	}
}

// close stops the reader and releases every watch.
func (w *watcher) close() {
	_ = w.file.Close()
	<-w.done
}
