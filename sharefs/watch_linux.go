package sharefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Changes inotify reports for a watched folder (entries created, deleted,
// renamed, written or re-attributed, the folder itself going away) and
// for a watched file (written, re-attributed, deleted, moved).
const (
	folderMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW
	fileMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_DONT_FOLLOW
	// goneMask: the watch no longer follows its path.
	goneMask = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_IGNORED
)

// localFS lists the file systems whose every change inotify reports
// (not so for network file systems, changed by other machines).
var localFS = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:  true, // also ext2, ext3
	unix.XFS_SUPER_MAGIC:   true,
	unix.BTRFS_SUPER_MAGIC: true,
	unix.TMPFS_MAGIC:       true,
	unix.F2FS_SUPER_MAGIC:  true,
	0x794c7630:             true, // overlayfs: containers
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
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return nil, fmt.Errorf("statfs %q: %w", root, err)
	}
	if !localFS[int64(st.Type)] {
		return nil, fmt.Errorf("%q: not a local file system", root)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
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
	wd, err := unix.InotifyAddWatch(in.fd, filepath.Join(in.root, filepath.FromSlash(path)), mask)
	if err != nil {
		return -1, fmt.Errorf("watch %q: %w", path, err)
	}
	return wd, nil
}

func (in *inotify) remove(wd int) {
	// The file may be gone already, which removed the watch.
	_, _ = unix.InotifyRmWatch(in.fd, uint32(wd))
}

// pending reports whether events wait to be read (or it cannot tell).
func (in *inotify) pending() bool {
	n, err := unix.IoctlGetInt(in.fd, unix.TIOCINQ) // FIONREAD
	return err != nil || n != 0
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
			n, rerr = unix.Read(int(fd), buf)
			if n > 0 {
				in.dispatch(buf[:n])
			}
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err != nil || (rerr != nil && !errors.Is(rerr, unix.EAGAIN)) {
			in.w.broken()
			return
		}
	}
}

// dispatch applies each event of a batch.
func (in *inotify) dispatch(buf []byte) {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		switch {
		case ev.Mask&unix.IN_Q_OVERFLOW != 0:
			in.w.changed(-1, false)
		default:
			in.w.changed(int(ev.Wd), ev.Mask&goneMask != 0)
		}
		buf = buf[unix.SizeofInotifyEvent+int(ev.Len):]
	}
}
