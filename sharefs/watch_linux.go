package sharefs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// Changes inotify reports for a watched folder (entries created, deleted,
// renamed, written or re-attributed, the folder itself going away) and
// for a watched file (written, re-attributed, deleted, moved).
const (
	folderMask = syscall.IN_CREATE | syscall.IN_DELETE | syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO |
		syscall.IN_MODIFY | syscall.IN_ATTRIB | syscall.IN_CLOSE_WRITE |
		syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_ONLYDIR | syscall.IN_DONT_FOLLOW
	fileMask = syscall.IN_MODIFY | syscall.IN_ATTRIB | syscall.IN_CLOSE_WRITE |
		syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_DONT_FOLLOW
	// goneMask: the watch no longer follows its path.
	goneMask = syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_IGNORED
)

// localFS lists the file systems whose every change inotify reports
// (not so for network file systems, changed by other machines).
var localFS = map[int64]bool{
	0xef53:     true, // ext2, ext3, ext4
	0x58465342: true, // xfs
	0x9123683e: true, // btrfs
	0x01021994: true, // tmpfs
	0xf2f52010: true, // f2fs
	0x794c7630: true, // overlayfs: containers
}

// inotify is the Linux notification service of one Dir.
type inotify struct {
	root string
	fd   int
	file *os.File // fd in Go's poller, so close wakes the reader
	w    *watcher
	done chan struct{}
}

func startSysWatcher(root string, w *watcher) (sysWatcher, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		return nil, fmt.Errorf("statfs %q: %w", root, err)
	}
	if !localFS[int64(st.Type)] {
		return nil, fmt.Errorf("%q: not a local file system", root)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	in := &inotify{root: root, fd: fd, file: os.NewFile(uintptr(fd), "inotify"), w: w, done: make(chan struct{})}
	go in.loop()
	return in, nil
}

func (in *inotify) add(path string, folder bool) (int, error) {
	mask := uint32(fileMask)
	if folder {
		mask = folderMask
	}
	wd, err := syscall.InotifyAddWatch(in.fd, filepath.Join(in.root, filepath.FromSlash(path)), mask)
	if err != nil {
		return -1, fmt.Errorf("watch %q: %w", path, err)
	}
	return wd, nil
}

func (in *inotify) remove(wd int) {
	// The file may be gone already, which removed the watch.
	_, _ = syscall.InotifyRmWatch(in.fd, uint32(wd))
}

// pending reports whether events wait to be read (or it cannot tell).
// It runs on every request for a small file, and the ioctl never
// blocks, so it skips the scheduler's system-call path (which may also
// wake the runtime's monitor thread): a raw call.
func (in *inotify) pending() bool {
	var n int32
	_, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, uintptr(in.fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))) // FIONREAD
	return errno != 0 || n != 0
}

func (in *inotify) close() {
	_ = in.file.Close()
	<-in.done
}

// loop reads and applies events until closed. The epoch is odd from
// before a batch is read until it is applied, so a Token that found
// nothing pending and an even, unchanged epoch saw every change made
// before it looked.
func (in *inotify) loop() {
	defer close(in.done)
	rc, err := in.file.SyscallConn()
	if err != nil {
		in.w.broken()
		return
	}
	buf := make([]byte, 64<<10)
	for {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			if !in.pending() {
				return false // wait until readable
			}
			in.w.begin()
			defer in.w.end()
			var n int
			n, rerr = syscall.Read(int(fd), buf)
			for errors.Is(rerr, syscall.EINTR) {
				n, rerr = syscall.Read(int(fd), buf)
			}
			if n > 0 {
				in.dispatch(buf[:n])
			}
			return !errors.Is(rerr, syscall.EAGAIN)
		})
		if err != nil || (rerr != nil && !errors.Is(rerr, syscall.EAGAIN)) {
			in.w.broken()
			return
		}
	}
}

// dispatch applies each event of a batch. The header is decoded, not
// cast: Go pads syscall.InotifyEvent past its 16 bytes (for the empty
// Name at its end), so a cast of an event in a full buffer's last bytes
// reached past the buffer.
func (in *inotify) dispatch(buf []byte) {
	for len(buf) >= syscall.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(buf[0:]))
		mask := binary.NativeEndian.Uint32(buf[4:])
		size := syscall.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[12:]))
		switch {
		case mask&syscall.IN_Q_OVERFLOW != 0:
			in.w.changed(-1, false)
		default:
			in.w.changed(int(wd), mask&goneMask != 0)
		}
		if size > len(buf) {
			return
		}
		buf = buf[size:]
	}
}
