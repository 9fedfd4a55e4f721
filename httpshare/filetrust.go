package httpshare

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/share/sharefs"
	"golang.org/x/sys/unix"
)

// A request for a cached small file still costs a stat, to see that the
// file is unchanged: a system call and its allocations, a tenth of the
// CPU of such a request. fileTrust lets a settled file skip it while
// inotify vouches that nothing changed: the file itself is watched (so a
// write through any hard link counts) and every folder from the shared
// root down to it (so a replaced or renamed file or folder counts). Any
// event at all ends the trust of every file; the next request stats
// again. A request checks that no event is waiting to be read (one
// ioctl), so a change the kernel has reported is never missed because
// the reader had not got to it yet. Trust is given only on a local file
// system (inotify does not see changes made by another machine), for
// names without symbolic links, and for trustMaxAge at most, which
// bounds what inotify cannot see (writes through a shared mapping).

// trustMaxAge is how long a file stays trusted without a stat.
const trustMaxAge = time.Second

// trustMaxWatches bounds the inotify watches of fileTrust; past it, files
// are no longer trusted and every request stats.
const trustMaxWatches = 1024

const (
	trustFileMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	trustFolderMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
)

// localFS lists the file systems whose every change inotify reports.
var localFS = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:  true, // also ext2, ext3
	unix.XFS_SUPER_MAGIC:   true,
	unix.BTRFS_SUPER_MAGIC: true,
	unix.TMPFS_MAGIC:       true,
	unix.F2FS_SUPER_MAGIC:  true,
}

// fileTrust is the inotify instance behind trusted small files.
type fileTrust struct {
	root string // absolute path of the shared folder
	fd   int
	file *os.File // fd in Go's poller, so close wakes the reader
	// gen counts events; a file is trusted while the count it was
	// trusted at is current. It starts at 1: 0 means never trusted.
	gen  atomic.Uint64
	done chan struct{}

	mu  sync.Mutex
	wds map[int32]bool
}

// newFileTrust starts trusting files under root, or returns nil where it
// cannot (no inotify, not a local file system).
func newFileTrust(root string) *fileTrust {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil
	}
	var st unix.Statfs_t
	if unix.Statfs(abs, &st) != nil || !localFS[int64(st.Type)] {
		return nil
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	t := &fileTrust{
		root: abs,
		fd:   fd,
		file: os.NewFile(uintptr(fd), "inotify"),
		done: make(chan struct{}),
		wds:  map[int32]bool{},
	}
	t.gen.Store(1)
	go t.loop()
	return t
}

// loop counts events until the instance is closed. It bumps gen before
// it reads the events away, so a request that finds none waiting and
// then an unchanged gen saw every change made before it looked. A
// failure ends every trust for good.
func (t *fileTrust) loop() {
	defer close(t.done)
	rc, err := t.file.SyscallConn()
	if err != nil {
		t.gen.Store(0)
		return
	}
	buf := make([]byte, 16<<10)
	for {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			if !t.pending() {
				return false // wait until readable
			}
			t.gen.Add(1)
			_, rerr = unix.Read(int(fd), buf)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err != nil || (rerr != nil && !errors.Is(rerr, unix.EAGAIN)) {
			t.gen.Store(0) // closed or broken: nothing is trusted any more
			return
		}
	}
}

// close stops the reader and releases the watches.
func (t *fileTrust) close() {
	_ = t.file.Close()
	<-t.done
}

// pending reports whether events wait to be read (or it cannot tell).
func (t *fileTrust) pending() bool {
	n, err := unix.IoctlGetInt(t.fd, unix.TIOCINQ) // FIONREAD
	return err != nil || n != 0
}

// current reports whether a file trusted at generation g, until the
// time until (Unix nanoseconds), may be served without a stat.
func (t *fileTrust) current(g uint64, until int64) bool {
	if g == 0 || g != t.gen.Load() || time.Now().UnixNano() >= until {
		return false
	}
	// Nothing waiting, then gen again: see loop.
	return !t.pending() && g == t.gen.Load()
}

// vouch tries to trust the file name, whose stamp is want. It returns
// the generation the trust holds at, or 0 if name cannot be trusted.
func (t *fileTrust) vouch(name string, want sharefs.Version) uint64 {
	g := t.gen.Load()
	if g == 0 {
		return 0
	}
	// Watches first, then the checks: a change after a watch is in
	// place moves gen; one before it shows in the checks.
	paths := []string{t.root}
	p := t.root
	for part := range strings.SplitSeq(name, "/") {
		p = filepath.Join(p, part)
		paths = append(paths, p)
	}
	for i, p := range paths {
		mask := uint32(trustFolderMask)
		if i == len(paths)-1 {
			mask = trustFileMask
		}
		if !t.watch(p, mask) {
			return 0
		}
	}
	for i, p := range paths[1:] {
		info, err := os.Lstat(p)
		if err != nil {
			return 0
		}
		last := i == len(paths)-2
		if last {
			if !info.Mode().IsRegular() || sharefs.VersionOf(info) != want {
				return 0
			}
		} else if !info.IsDir() {
			return 0 // a symbolic link on the way
		}
	}
	if t.pending() {
		return 0
	}
	return g
}

// watch adds (or renews) a watch on path, within the bound.
func (t *fileTrust) watch(path string, mask uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.wds) >= trustMaxWatches {
		return false
	}
	wd, err := unix.InotifyAddWatch(t.fd, path, mask)
	if err != nil {
		return false
	}
	t.wds[int32(wd)] = true
	return true
}
