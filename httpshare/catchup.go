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
	b.Bind(ctx, func() { sendHeadersEarly(w, r) })
	return stop
}

// sendHeadersEarly sends the response's status line and headers now, if
// the handler has set them and reads the file in its own goroutine: the
// one range of http.ServeContent (several ranges are read in another
// goroutine, and may start before the headers are set).
func sendHeadersEarly(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Range"), ",") {
		return // not the handler's goroutine: w is not this one's to touch
	}
	if lw, ok := w.(*logWriter); !ok || lw.status == 0 {
		return
	}
	_ = http.NewResponseController(w).Flush()
}
