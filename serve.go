package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"example.com/share/cardcrypt"
	"example.com/share/httpshare"
	"example.com/share/internal/transfers"
	"example.com/share/sharefs"
)

const (
	// shutdownGrace is how long transfers in flight may go on after a
	// SIGINT or SIGTERM.
	shutdownGrace = 5 * time.Second
)

// server is what serve runs: the HTTP or the FTP server.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// service is one server with its listener.
type service struct {
	proto   string // "http" or "ftp"
	ln      net.Listener
	server  server
	private *privacy // --tls and --secret; nil without
}

func serve(c *cli.Context) error {
	dir, err := folderArg(c)
	if err != nil {
		return err
	}
	if err := checkRequires(c); err != nil {
		return err
	}
	if c.Bool("no-http") && c.Bool("no-ftp") {
		return usagef("--no-http and --no-ftp together leave nothing to serve")
	}
	if !c.Bool("no-http") && !c.Bool("no-ftp") && samePort(c.String("http"), c.String("ftp")) {
		return usagef("--http %s and --ftp %s ask for the same port; give each its own", c.String("http"), c.String("ftp"))
	}
	live := newLiveView(c)
	logger, err := newLogger(live.logWriter(c.App.ErrWriter), c.String("log-format"), c.Bool("quiet"))
	if err != nil {
		return err
	}
	root, err := openFolder(dir, c.Bool("hidden"))
	if err != nil {
		return err
	}
	defer root.Close()
	view, err := encryptionView(c, root, logger)
	if err != nil {
		return err
	}
	priv, err := setUpPrivacy(c)
	if err != nil {
		return err
	}
	sig, err := signer(c, logger)
	if err != nil {
		return err
	}
	if sig != nil {
		defer sig.Close()
	}
	services, err := listenAll(c, view, root.Name(), logger, priv, sig, live.Board())
	if err != nil {
		return err
	}
	priv.warnClearText(logger)
	if !c.Bool("quiet") {
		printBanner(c.App.Writer, root.Path(), services, c, recipientsOf(view))
	}
	stopDiscovery := startDiscovery(c, root.Path(), services, logger)
	live.run()
	defer live.Stop()
	return runServices(services, logger, stopDiscovery)
}

// folderArg returns the folder to share: the one argument, or ".".
func folderArg(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return ".", nil
	case 1:
		return c.Args().First(), nil
	}
	for _, a := range c.Args().Slice() {
		if hint := listenHint(a); hint != "" && !exists(a) {
			return "", usagef("share takes one folder, got %d arguments; %s", c.NArg(), hint)
		}
	}
	return "", usagef("share takes one folder, got %d arguments", c.NArg())
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// openFolder opens the shared folder, with a clear error for the usual
// mistakes.
func openFolder(dir string, hidden bool) (*sharefs.Dir, error) {
	root, err := sharefs.New(dir, sharefs.Options{Hidden: hidden})
	switch {
	case err == nil:
		return root, nil
	case errors.Is(err, fs.ErrNotExist) && listenHint(dir) != "":
		return nil, fmt.Errorf("folder %q does not exist; %s", dir, listenHint(dir))
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("folder %q does not exist; give the path of an existing folder", dir)
	case errors.Is(err, sharefs.ErrNotDir):
		return nil, fmt.Errorf("%q is a file, not a folder; give the folder that holds it", dir)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("folder %q cannot be read (permission denied); pick a folder you can read", dir)
	}
	return nil, fmt.Errorf("cannot open folder %q: %w", dir, err)
}

// recipientsOf says whom an encrypting view encrypts to; nil otherwise.
func recipientsOf(v sharefs.View) []string {
	if r, ok := v.(interface{ Recipients() []string }); ok {
		return r.Recipients()
	}
	return nil
}

// listenHint says how to listen where an argument that is no folder
// seems to ask (`share 8080`, a habit from python -m http.server, or
// `share :8080`); "" when it does not look like a port or an address.
func listenHint(arg string) string {
	if isPortNumber(arg) {
		return fmt.Sprintf("to serve on port %s, use --http %s (and --ftp PORT for FTP)", arg, arg)
	}
	if _, port, err := net.SplitHostPort(arg); err == nil && isPortNumber(port) {
		return fmt.Sprintf("to listen on %s, use --http %s", arg, arg)
	}
	return ""
}

func isPortNumber(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

// listenAll opens the listeners first, so that a port in use is reported
// before anything is served.
func listenAll(c *cli.Context, view sharefs.View, name string, logger *slog.Logger, priv *privacy, sig *cardcrypt.Signer, board *transfers.Board) ([]service, error) {
	var services []service
	ftpPort := 0
	if !c.Bool("no-ftp") {
		s, err := newFTPService(c, view, logger, priv, sig, board)
		if err != nil {
			return nil, err
		}
		services = append(services, s)
		ftpPort = s.ln.Addr().(*net.TCPAddr).Port
	}
	if !c.Bool("no-http") {
		ln, err := listen("HTTP", "--http", c.String("http"))
		if err != nil {
			for _, s := range services {
				s.ln.Close()
			}
			return nil, err
		}
		opts := httpshare.Options{Logger: logger, FTPPort: ftpPort, Name: name, Signer: httpSigner(sig), Transfers: board}
		if priv != nil {
			opts.TLS, opts.Secret = priv.tls, priv.secret
		}
		if h := c.String("public-host"); h != "" {
			opts.Hosts = []string{h} // a name people use to reach this machine
		}
		srv := httpshare.New(view, opts)
		// HTTP comes first in the banner.
		services = append([]service{{proto: "http", ln: ln, server: srv, private: priv}}, services...)
	}
	return services, nil
}

// runServices serves until a signal or a fatal server error, then calls
// withdraw (so nobody new is sent here) and shuts everything down
// gracefully. A second signal during the shutdown quits at once.
func runServices(services []service, logger *slog.Logger, withdraw func()) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for _, s := range services {
		logger.Info("listening", append([]any{"proto", s.proto, "addr", s.ln.Addr().String()}, s.private.logAttrs(s)...)...)
	}
	failed := make(chan error, len(services))
	for _, s := range services {
		go func() {
			if err := s.server.Serve(s.ln); err != nil {
				failed <- fmt.Errorf("%s server: %w", s.proto, err)
			}
		}()
	}
	var runErr error
	select {
	case sig := <-sigs:
		logger.Info("stopping: transfers in flight may finish; signal again to quit now", "signal", sig.String(), "grace_ms", shutdownGrace.Milliseconds())
	case runErr = <-failed:
	}
	withdraw()
	done := make(chan struct{})
	go func() {
		shutdown(services, logger)
		close(done)
	}()
	select {
	case <-done:
	case sig := <-sigs:
		return fmt.Errorf("stopped at once by a second %v; transfers in flight were cut", sig)
	}
	return runErr
}

// shutdown stops every server, letting transfers in flight finish within
// the grace period.
func shutdown(services []service, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	done := make(chan struct{})
	for _, s := range services {
		go func() {
			defer func() { done <- struct{}{} }()
			err := s.server.Shutdown(ctx)
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				logger.Warn("transfers still running at the end of the grace period were cut", "proto", s.proto, "grace_ms", shutdownGrace.Milliseconds())
			case err != nil:
				logger.Warn("shutdown was not clean", "proto", s.proto, "err", err)
			}
		}()
	}
	for range services {
		<-done
	}
}
