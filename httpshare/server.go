// Package httpshare serves a sharefs.View over HTTP: an HTML and JSON
// listing of every folder, and downloads with ranges, validators and the
// kernel's zero-copy path. It never writes to the shared folder.
package httpshare

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"example.com/share/internal/accesslog"
	"example.com/share/internal/hostnames"
	"example.com/share/internal/transfers"
	"example.com/share/sharefs"
)

// Options configures a Server.
type Options struct {
	Logger  *slog.Logger // access and error log; nil means discard
	FTPPort int          // FTP port shown in the page footer; 0 when FTP is off
	Hosts   []string     // host names to answer to besides this machine's names and IP addresses
	Name    string       // the shared folder's name: root of the breadcrumbs and of archives; "" means "share"
	// TLS, when set, makes the server speak HTTPS (and HTTP/2); plain HTTP
	// requests on the same port are redirected to https://.
	TLS *tls.Config
	// Secret, when set, serves the share only under /Secret/; every other
	// path is a 404.
	Secret string
	// Signer answers ?sig, ?sha256&sig and ?pubkey; nil turns signing off.
	Signer Signer
	// Transfers, when set, is told of every download as it goes (the
	// sharer's live view).
	Transfers *transfers.Board
}

// Server is the HTTP side of share: a handler over one view plus the
// http.Server that runs it.
type Server struct {
	view   sharefs.View
	opts   Options
	log    *slog.Logger
	router *mux.Router
	srv    *http.Server
	cache  *listingCache
	sums   *sumCache
	small  *smallCache
	base   string // "/TOKEN" with --secret, else ""
	hosts  *hostCheck
	// folderJobs bounds the archives and SHA256SUMS made at once, and
	// each client's share of them: each reads a whole tree.
	folderJobs *folderSlots
	writeStall time.Duration
}

// Time-outs of the http.Server. There is deliberately no write time-out:
// it would cut big downloads on slow links; every write has a progress
// deadline instead (writeStall).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	// bodyReadTimeout bounds how long a request body (which this
	// read-only server never wants) may take to arrive.
	bodyReadTimeout = 10 * time.Second
)

// New builds the server for view.
func New(view sharefs.View, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Name == "" || opts.Name == "/" || opts.Name == "." {
		opts.Name = defaultRootName
	}
	s := &Server{view: view, opts: opts, log: log}
	s.cache = newListingCache(view, log, opts.FTPPort, opts.Name)
	s.cache.signing = pageSigningOf(opts.Signer, view)
	if opts.Secret != "" {
		s.base = "/" + opts.Secret
		s.cache.base = s.base
	}
	s.sums = newSumCache(sumCacheSize)
	s.small = newSmallCache(view)
	s.hosts = newHostCheck(machineNames(log), opts.Hosts...)
	s.folderJobs = newFolderSlots(maxFolderJobs, maxFolderJobsClient, folderJobWait)
	s.writeStall = writeStall
	s.router = s.routes()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes, // a backstop: headerGuard counts first
		// "OPTIONS *" gets the same Allow answer as every path.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Small responses held back by holdResponse leave in one write.
		ConnState:   connState,
		ConnContext: connContext,
	}
	if opts.TLS != nil {
		s.setupTLS(opts.TLS)
	}
	return s
}

// routes builds the gorilla/mux router. The router neither cleans nor
// decodes paths: requestName decodes the raw path exactly once, and
// mux's cleaning redirect could point off-site ("//host").
func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.UseEncodedPath()
	r.SkipClean(true)
	r.Methods(http.MethodGet, http.MethodHead).HandlerFunc(s.serveGet)
	r.Methods(http.MethodOptions).HandlerFunc(s.serveOptions)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.serveNotAllowed)
	r.NotFoundHandler = http.HandlerFunc(s.serveNotFound)
	return r
}

// ServeHTTP is the whole handler: access log, panic guard, router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, unlocked := s.unlock(r) // before the log: the token never reaches it
	lw := &logWriter{ResponseWriter: w, board: s.opts.Transfers, req: r}
	start := time.Now()
	defer s.logAccess(lw, r, start)
	defer s.recoverPanic(lw, r)
	if r.ContentLength != 0 {
		// A read-only server wants no body; do not wait long for one.
		_ = http.NewResponseController(w).SetReadDeadline(start.Add(bodyReadTimeout))
	}
	if !headersWithinLimits(lw, r) {
		return
	}
	if !s.hosts.allowed(r.Host) {
		s.hosts.warnOnce(s.log, r.Host, accesslog.ClientOf(r.RemoteAddr).String())
		s.misdirected(lw, r, unlocked)
		return
	}
	switch {
	case !unlocked:
		notFound(lw)
	case r.URL.RawPath == "" && s.base != "":
		redirectTo(lw, r, s.base+"/")
	default:
		s.router.ServeHTTP(lw, r)
	}
}

// machineNames are this machine's names for the Host check; without
// them only IP addresses, localhost and --public-host are answered.
func machineNames(log *slog.Logger) hostnames.Names {
	n, err := hostnames.Local()
	if err != nil {
		log.Warn("only IP addresses and --public-host will be answered", "err", err)
	}
	return n
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the accept error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	// The cap goes inside heldListener, whose connections hold small
	// responses for one write.
	capped := newLimitListener(ln, maxConns, maxConnsPerClient)
	var err error
	if s.srv.TLSConfig != nil {
		// Under TLS the connection carries records, not header lines:
		// tooManyFields counts the fields once parsed instead.
		err = s.srv.ServeTLS(heldListener{plainListener{capped, s}, s.writeStall, false}, "", "")
	} else {
		err = s.srv.Serve(heldListener{capped, s.writeStall, true})
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("http server on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting, lets transfers in flight finish until ctx
// ends, then closes every connection and releases the listing cache.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("http shutdown: %w", err), s.srv.Close())
	}
	return err
}

// serveOptions answers OPTIONS with the methods every path allows.
func (s *Server) serveOptions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", allowedMethods)
	w.WriteHeader(http.StatusNoContent)
}

const allowedMethods = "GET, HEAD, OPTIONS"

// serveNotAllowed answers every method but GET, HEAD and OPTIONS.
func (s *Server) serveNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", allowedMethods)
	// Do not read what may be a large upload before answering.
	w.Header().Set("Connection", "close")
	s.errorPage(w, r, http.StatusMethodNotAllowed)
}

// notFoundBody is the one answer for anything missing or refused, so a
// client cannot tell them apart.
const notFoundBody = "404 page not found\n"

func (s *Server) serveNotFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound)
}

// serveGet answers GET and HEAD for folders and files.
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	if s.serveSigning(w, r) {
		return
	}
	name, wantDir, ok := requestName(r)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound)
		return
	}
	if !wantDir {
		if sf := s.small.trusted(name); sf != nil {
			serveSmall(w, r, name, sf)
			return
		}
	}
	entry, err := s.view.Stat(name)
	if err != nil {
		s.statFailed(w, r, name, err)
		return
	}
	switch {
	case entry.IsDir && !wantDir:
		redirectTo(w, r, s.base+folderURL(name))
	case entry.IsDir:
		s.serveFolder(w, r, name, entry)
	case wantDir:
		// A file asked for as a folder ("/file.txt/") does not exist.
		s.errorPage(w, r, http.StatusNotFound)
	default:
		s.serveNamedFile(w, r, name, entry)
	}
}

// serveNamedFile answers for the file name, seen as entry: from memory
// if it is a small file read before and unchanged since, otherwise from
// the file opened, whose own description then makes the headers, so they
// match the body even if the name was replaced meanwhile.
func (s *Server) serveNamedFile(w http.ResponseWriter, r *http.Request, name string, entry sharefs.Entry) {
	if sf := s.small.get(name, entry); sf != nil {
		s.small.vouch(name, sf)
		serveSmall(w, r, name, sf)
		return
	}
	f, err := s.view.Open(name)
	if err != nil {
		s.statFailed(w, r, name, err)
		return
	}
	w, f, stop := bindToClient(w, r, f)
	defer f.Close()
	defer stop() // first: a read still going on ends before the close
	s.serveFile(w, r, name, f)
}

// statFailed answers a failed Stat: 404 for anything the view does not
// show, 500 (logged) for real errors.
func (s *Server) statFailed(w http.ResponseWriter, r *http.Request, name string, err error) {
	if isNotExist(err) {
		s.errorPage(w, r, http.StatusNotFound)
		return
	}
	s.log.Error("stat failed", "path", name, "err", err)
	s.errorPage(w, r, http.StatusInternalServerError)
}

// redirectTo sends /dir to /dir/ (target), keeping the query. The target
// is built from a decoded name, so it is always a local absolute path.
func redirectTo(w http.ResponseWriter, r *http.Request, target string) {
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusMovedPermanently)
}
