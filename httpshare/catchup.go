package httpshare

import (
	"context"
	"net/http"
	"strings"

	"example.com/share/cardcrypt"
	"example.com/share/sharefs"
)

// bindToClient ties the long work of an encrypted file asked for by
// range (a catch-up that encrypts the file up to a far offset before its
// first byte) to r's client: it stops once the client has gone. For one
// range the status line and headers go out before that work. stop ends
// the watch.
func bindToClient(w http.ResponseWriter, r *http.Request, f sharefs.File) (stop context.CancelFunc) {
	b, ok := f.(cardcrypt.Binder)
	if !ok || r.Header.Get("Range") == "" {
		return func() {}
	}
	ctx, stop := watchClient(r)
	started := func() {}
	// http.ServeContent reads one range in the handler's goroutine, after
	// the headers are set; several in another goroutine, which may start
	// before that, and w is not that goroutine's to touch.
	if !strings.Contains(r.Header.Get("Range"), ",") {
		started = func() { sendHeadersEarly(w) }
	}
	b.Bind(ctx, started)
	return stop
}

// sendHeadersEarly sends the response's status line and headers now, if
// the handler has set them.
func sendHeadersEarly(w http.ResponseWriter) {
	if lw, ok := w.(*logWriter); ok && lw.status != 0 {
		_ = http.NewResponseController(w).Flush()
	}
}
