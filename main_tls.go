package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/urfave/cli/v2"

	"example.com/share/internal/config"
	"example.com/share/internal/hostnames"
	"example.com/share/internal/tlscert"
)

// privateFlags are the options that keep a share private: TLS and the
// secret link.
func privateFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "tls", Category: catPrivate, Usage: "HTTPS and explicit FTPS (required), with a self-signed certificate kept in the configuration folder", EnvVars: envOf("tls")},
		&cli.StringFlag{Name: "tls-cert", Category: catPrivate, Usage: "use the certificate (chain) in PEM `FILE` instead; implies --tls", EnvVars: envOf("tls-cert")},
		&cli.StringFlag{Name: "tls-key", Category: catPrivate, Usage: "the private key of --tls-cert, in PEM `FILE`", EnvVars: envOf("tls-key")},
		&cli.BoolFlag{Name: "secret", Category: catPrivate, Usage: "serve only under a random /TOKEN/ path; FTP password = token, no anonymous login", EnvVars: envOf("secret")},
	}
}

// privacy is what --tls and --secret set up, shared by both servers.
type privacy struct {
	tls    *tls.Config       // nil without TLS
	leaf   *x509.Certificate // the served certificate
	secret string            // the token, "" without --secret
}

// secretBytes is the token's size: 144 bits, 24 URL-safe characters.
const secretBytes = 18

// setUpPrivacy reads the TLS flags, loads or makes the certificate and
// makes the token. It returns nil when neither is asked for.
func setUpPrivacy(c *cli.Context) (*privacy, error) {
	certFile, keyFile := c.String("tls-cert"), c.String("tls-key")
	if (certFile == "") != (keyFile == "") {
		return nil, usagef("--tls-cert and --tls-key go together: give both files, or neither for the kept self-signed certificate")
	}
	if !c.Bool("tls") && certFile == "" && !c.Bool("secret") {
		return nil, nil
	}
	p := &privacy{}
	if c.Bool("tls") || certFile != "" {
		cert, err := loadCert(c, certFile, keyFile)
		if err != nil {
			return nil, err
		}
		p.tls, p.leaf = tlscert.ServerConfig(cert), cert.Leaf
	}
	if c.Bool("secret") {
		b := make([]byte, secretBytes)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("cannot make the secret token: %w", err)
		}
		p.secret = base64.RawURLEncoding.EncodeToString(b)
	}
	return p, nil
}

// loadCert loads --tls-cert/--tls-key, or the kept self-signed
// certificate for this machine's names and addresses.
func loadCert(c *cli.Context, certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" {
		return tlscert.Load(certFile, keyFile)
	}
	dir, err := config.Dir()
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tlscert.Kept(dir, machineHosts(c.String("public-host")))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w (the certificate is kept in %s)", err, dir)
	}
	return cert, nil
}

// machineHosts are the names and addresses coworkers may use: this
// machine's names, localhost, loopback and LAN addresses, --public-host.
func machineHosts(publicHost string) tlscert.Hosts {
	h := tlscert.Hosts{Names: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}}
	if names, err := hostnames.Local(); err == nil {
		h.Names = append(h.Names, names.All()...) // the names the Host check answers to
	}
	for _, a := range lanAddrs(false) {
		h.IPs = append(h.IPs, a.AsSlice())
	}
	if publicHost != "" {
		if ip, err := netip.ParseAddr(publicHost); err == nil {
			h.IPs = append(h.IPs, ip.AsSlice())
		} else {
			h.Names = append(h.Names, strings.ToLower(publicHost))
		}
	}
	return h
}

// links turns a listener's plain URLs into the ones to hand out:
// https:// under TLS, and the token in the path (HTTP) or as the
// password (FTP).
func (p *privacy) links(proto string, urls []string) []string {
	if p == nil {
		return urls
	}
	out := make([]string, len(urls))
	for i, u := range urls {
		rest, _ := strings.CutPrefix(u, proto+"://")
		switch {
		case proto == "http" && p.tls != nil:
			u = "https://" + rest
		case proto == "ftp" && p.secret != "":
			u = "ftp://share:" + p.secret + "@" + rest
		}
		if proto == "http" && p.secret != "" {
			u += p.secret + "/"
		}
		out[i] = u
	}
	return out
}

// ftpLogin says how to log in to FTP, for the banner.
func (p *privacy) ftpLogin() string {
	switch {
	case p == nil:
		return "anonymous login"
	case p.tls != nil && p.secret != "":
		return "explicit FTPS required (AUTH TLS; curl --ssl-reqd); any user, the token as password"
	case p.tls != nil:
		return "explicit FTPS required (AUTH TLS; curl --ssl-reqd); anonymous login"
	}
	return "any user, the token as password"
}

// printPrivacy ends the banner with the certificate to check and what
// --secret changes.
func (p *privacy) printPrivacy(w io.Writer, c *cli.Context) {
	if p == nil {
		return
	}
	if p.leaf != nil {
		fmt.Fprintf(w, "TLS certificate SHA-256 fingerprint:\n  %s\n", tlscert.Fingerprint(p.leaf.Raw))
		fmt.Fprintf(w, "Public-key pin (curl --pinnedpubkey): %s\n", tlscert.Pin(p.leaf))
	}
	if p.secret == "" {
		return
	}
	fmt.Fprintln(w, "Secret link: only these URLs open the share; anything else is a 404.")
	if p.tls == nil {
		fmt.Fprintln(w, "WARNING: without --tls the token crosses the network in clear text; add --tls.")
	}
	if c.Bool("mdns") {
		fmt.Fprintln(w, "mDNS: nothing announced, as the link is the secret.")
	}
}

// logAttrs are the start-up event's fields for a service: its URLs
// (without the token: secrets never reach a log) and the certificate.
func (p *privacy) logAttrs(s service) []any {
	urls, _ := serviceURLs(s.proto, s.ln.Addr())
	if p == nil {
		return []any{"urls", urls}
	}
	if p.tls != nil && s.proto == "http" {
		for i, u := range urls {
			urls[i] = "https" + strings.TrimPrefix(u, "http")
		}
	}
	attrs := []any{"urls", urls, "tls", p.tls != nil, "secret", p.secret != ""}
	if p.leaf != nil {
		attrs = append(attrs, "cert_sha256", tlscert.Fingerprint(p.leaf.Raw), "spki_sha256", tlscert.Pin(p.leaf))
	}
	return attrs
}

// warnClearText logs that --secret without --tls sends the token in clear.
func (p *privacy) warnClearText(logger *slog.Logger) {
	if p != nil && p.secret != "" && p.tls == nil {
		logger.Warn("--secret without --tls: the token crosses the network in clear text; add --tls")
	}
}
