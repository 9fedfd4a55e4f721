package httpshare

import (
	"context"
	"net/http"
	"syscall"

	"example.com/share/internal/netutil"
)

// watchClient returns a context that ends with r's, or once the client
// of r's connection has closed or reset it. net/http notices a client
// leaving only while it waits to read, not after a pipelined byte, and a
// job that writes little (SHA256SUMS of large files) would not notice
// through its writes for a long time. A client that half-closes after
// its request counts as gone, as it does for net/http itself.
func watchClient(r *http.Request) (context.Context, context.CancelFunc) {
	return netutil.WatchPeer(r.Context(), rawConnOf(r))
}

// rawConnOf is the socket underneath r's connection, or nil.
func rawConnOf(r *http.Request) syscall.RawConn {
	hc, ok := r.Context().Value(heldConnKey{}).(*heldConn)
	if !ok {
		return nil
	}
	return netutil.Raw(hc.Conn)
}
