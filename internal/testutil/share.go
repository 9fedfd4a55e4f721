package testutil

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// BuildShare returns the path of a share binary: the one SHARE_BIN names
// if set, otherwise the module root's main package built once per test
// process with go build -o into a temp dir under os.TempDir. Call
// RemoveShare from TestMain to remove that dir.
func BuildShare(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("SHARE_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "share-bin-")
		if err != nil {
			buildErr = err
			return
		}
		bin, err := goBuild(root, dir)
		if err != nil {
			os.RemoveAll(dir)
			buildErr = err
			return
		}
		binPath = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// BuildShareWith builds the module root's main package with extra
// environment (such as "CGO_ENABLED=0") into the test's temp dir, for
// tests of one particular build.
func BuildShareWith(t testing.TB, env ...string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := goBuild(root, t.TempDir(), env...)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// goBuild builds share from the module root into dir with extra
// environment and returns the binary's path.
func goBuild(root, dir string, env ...string) (string, error) {
	bin := filepath.Join(dir, "share")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		return "", errors.New("go build share: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
}

// RemoveShare removes the binary BuildShare built, if any. TestMain calls
// it after m.Run.
func RemoveShare() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Serve runs srv on a loopback listener on host ("127.0.0.1" or "::1")
// and returns its address. When the test ends it shuts srv down within
// 5 s and checks that Serve returned nil.
func Serve(t testing.TB, srv interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}, host string) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Shutdown, want nil", err)
		}
	})
	return ln.Addr().String()
}
