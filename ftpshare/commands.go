package ftpshare

import (
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	ftp "goftp.io/server/v2"
)

// handler runs one command of a logged-in (or not yet) session.
type handler func(s *Server, sess *ftp.Session, st *session, arg string)

// command is an entry of the goftp command table.
type command struct {
	name  string
	auth  bool // needs a login
	param bool // needs an argument
	run   handler
}

// IsExtend implements ftp.Command; FEAT is answered by this package.
func (c command) IsExtend() bool { return false }

// RequireParam implements ftp.Command. It is false: Execute answers a
// missing argument with the standard 501.
func (c command) RequireParam() bool { return false }

// RequireAuth implements ftp.Command.
func (c command) RequireAuth() bool { return c.auth }

// Execute implements ftp.Command. A panic gets a reply, so the client
// never hangs.
func (c command) Execute(sess *ftp.Session, arg string) {
	st := stateOf(sess)
	defer func() {
		if v := recover(); v != nil {
			st.conn.srv.log.Error("ftp command crashed", "conn", st.conn.id, "cmd", c.name,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			st.conn.reply(451, "Internal error; the command was not completed.")
		}
	}()
	if !st.conn.srv.tlsAllows(st, c.name) {
		return
	}
	if c.param && strings.TrimSpace(arg) == "" {
		st.conn.reply(501, c.name+" needs an argument.")
		return
	}
	c.run(st.conn.srv, sess, st, arg)
}

// stateKey holds this package's state in Session.Data.
const stateKey = "ftpshare.session"

// stateOf returns the session state, keeping it in Session.Data.
func stateOf(sess *ftp.Session) *session {
	if st, ok := sess.Data[stateKey].(*session); ok {
		return st
	}
	st := sess.RemoteAddr().(peerAddr).conn.state
	sess.Data[stateKey] = st
	return st
}

// wrapped keeps a goftp command but adds the 501 for a missing argument
// and a reply on panic.
func wrapped(name string, inner ftp.Command) command {
	return command{
		name:  name,
		auth:  inner.RequireAuth(),
		param: inner.RequireParam(),
		run: func(s *Server, sess *ftp.Session, st *session, arg string) {
			path, start := "", time.Now()
			if name == "CWD" || name == "XCWD" {
				path = sess.BuildPath(arg)
			}
			// A refusal is logged as HTTP logs its 404s; the rest of
			// these commands send nothing worth a line.
			if code := st.conn.relay(func() { inner.Execute(sess, arg) }); code >= 400 {
				s.logRefusal(st, name, path, code, start)
			}
		},
	}
}

// writeCommands change the folder; the server refuses them before any
// data connection is used.
var writeCommands = []string{
	"STOR", "APPE", "STOU", "DELE", "RMD", "XRMD", "MKD", "XMKD",
	"RNFR", "RNTO", "ALLO", "SMNT",
}

// unsupported are commands this server does not offer: SITE (CHMOD and
// the like change files), LPRT would bypass the PORT checks, the security
// ones need TLS.
var unsupported = []string{
	"SITE", "LPRT", "LPSV", "AUTH", "ADAT", "CCC", "CONF", "ENC", "MIC", "PBSZ", "PROT", "REIN",
}

// commandTable builds the command table from a copy of goftp's.
func commandTable(s *Server) map[string]ftp.Command {
	defaults := maps.Clone(ftp.DefaultCommands())
	table := map[string]ftp.Command{}
	for _, name := range []string{"CWD", "XCWD", "CDUP", "XCUP", "MODE", "STRU", "NOOP", "QUIT", "SYST", "CLNT"} {
		table[name] = wrapped(name, defaults[name])
	}
	table["PASS"] = command{name: "PASS", run: func(s *Server, sess *ftp.Session, st *session, arg string) {
		if s.secret != "" && s.guard.lockedOut(clientKey(st.conn.peer), time.Now()) {
			s.log.Warn("ftp login refused: locked out", "conn", st.conn.id, "client", st.conn.peer)
			st.conn.reply(530, lockedOutReason)
			return
		}
		st.conn.relay(func() { defaults["PASS"].Execute(sess, arg) }) // anonymous: any password, even none
	}}
	for _, name := range writeCommands {
		table[name] = command{name: name, run: refuseWrite(name)}
	}
	for _, name := range unsupported {
		table[name] = command{name: name, run: notImplemented(name)}
	}
	own := []command{
		{name: "USER", param: true, run: cmdUser(defaults["USER"])},
		{name: "PWD", auth: true, run: cmdPwd},
		{name: "TYPE", auth: true, param: true, run: cmdType},
		{name: "XPWD", auth: true, run: cmdPwd},
		{name: "FEAT", run: cmdFeat},
		{name: "OPTS", param: true, run: cmdOpts},
		{name: "HELP", run: cmdHelp},
		{name: "STAT", auth: true, run: cmdStat},
		{name: "PASV", auth: true, run: cmdPasv},
		{name: "EPSV", auth: true, run: cmdEpsv},
		{name: "PORT", auth: true, param: true, run: cmdPort},
		{name: "EPRT", auth: true, param: true, run: cmdEprt},
		{name: "REST", auth: true, param: true, run: cmdRest},
		{name: "ABOR", auth: true, run: cmdAbor},
		{name: "SIZE", auth: true, param: true, run: cmdSize},
		{name: "MDTM", auth: true, param: true, run: cmdMdtm},
		{name: "MLST", auth: true, run: cmdMlst},
		{name: "RETR", auth: true, param: true, run: cmdRetr},
		{name: "LIST", auth: true, run: cmdList},
		{name: "NLST", auth: true, run: cmdNlst},
		{name: "MLSD", auth: true, run: cmdMlsd},
	}
	for _, c := range own {
		table[c.name] = c
	}
	if s.tls != nil {
		addTLSCommands(table)
	}
	return table
}

// refuseWrite answers a command that would change the folder.
func refuseWrite(cmd string) handler {
	return func(s *Server, sess *ftp.Session, st *session, arg string) {
		path := ""
		if arg != "" {
			path = sess.BuildPath(arg)
		}
		s.refuse(st, cmd, path, 550, "Permission denied: this server is read-only.")
	}
}

// notImplemented answers a command this server does not offer.
func notImplemented(cmd string) handler {
	return func(s *Server, _ *ftp.Session, st *session, _ string) {
		s.refuse(st, cmd, "", 502, "Command not implemented.")
	}
}

// cmdUser accepts only the anonymous names, before a password is asked.
func cmdUser(inner ftp.Command) handler {
	return func(_ *Server, sess *ftp.Session, st *session, arg string) {
		switch anon := isAnonymous(strings.TrimSpace(arg)); {
		case st.conn.srv.secret != "" && anon:
			st.conn.srv.log.Warn("ftp login refused: anonymous", "conn", st.conn.id, "client", st.conn.peer)
			st.conn.reply(530, "Anonymous login is off: log in with any name and the password from the link.")
			return
		case st.conn.srv.secret == "" && !anon:
			st.conn.srv.log.Warn("ftp login refused", "conn", st.conn.id, "client", st.conn.peer, "user", arg)
			st.conn.reply(530, "This server is anonymous only: log in as anonymous or ftp.")
			return
		}
		st.conn.relay(func() { inner.Execute(sess, strings.TrimSpace(arg)) })
	}
}

func cmdPwd(_ *Server, sess *ftp.Session, st *session, _ string) {
	dir := sess.BuildPath("")
	st.conn.reply(257, `"`+strings.ReplaceAll(dir, `"`, `""`)+`" is the current directory.`)
}

// features lists what FEAT announces, one per line.
var features = []string{
	"EPRT",
	"EPSV",
	"MDTM",
	"MLSD",
	"MLST type*;size*;modify*;perm*;",
	"PASV",
	"REST STREAM",
	"SIZE",
	"TVFS",
	"UTF8",
}

func cmdFeat(s *Server, _ *ftp.Session, st *session, _ string) {
	list := features
	if s.tls != nil {
		list = append(slices.Clone(features), tlsFeatures...)
	}
	st.conn.replyLines(211, "Features:", list, "End")
}

func cmdOpts(_ *Server, _ *ftp.Session, st *session, arg string) {
	opt, val, _ := strings.Cut(strings.TrimSpace(arg), " ")
	switch strings.ToUpper(opt) {
	case "UTF8", "UTF-8":
		if v := strings.ToUpper(strings.TrimSpace(val)); v == "ON" || v == "" {
			st.conn.reply(200, "UTF8 is always on.")
			return
		}
		st.conn.reply(504, "Names are always UTF-8; UTF8 cannot be turned off.")
	case "MLST":
		// The facts are fixed; tell the client which it gets.
		st.conn.reply(200, "MLST OPTS type;size;modify;perm;")
	default:
		st.conn.reply(501, "Unknown option "+opt+".")
	}
}

func cmdHelp(_ *Server, _ *ftp.Session, st *session, _ string) {
	st.conn.replyLines(214, "Commands:", []string{
		"ABOR CDUP CWD EPRT EPSV FEAT HELP LIST MDTM MLSD MLST MODE NLST NOOP OPTS",
		"PASS PASV PORT PWD QUIT REST RETR SIZE STAT STRU SYST TYPE USER",
	}, "This server is anonymous and read-only.")
}

// cmdType accepts the types clients ask for. Files go out unchanged
// either way, as with most servers today.
func cmdType(_ *Server, _ *ftp.Session, st *session, arg string) {
	switch strings.Join(strings.Fields(strings.ToUpper(arg)), " ") {
	case "A", "A N":
		st.conn.reply(200, "Type set to A.")
	case "I", "L 8":
		st.conn.reply(200, "Type set to I.")
	default:
		st.conn.reply(504, "Only TYPE A and TYPE I are supported.")
	}
}

func cmdRest(_ *Server, _ *ftp.Session, st *session, arg string) {
	n, err := parseRest(arg)
	if err != nil {
		st.conn.reply(501, "REST needs a byte offset: a whole number from 0 to 9223372036854775807.")
		return
	}
	st.rest = n
	st.conn.reply(350, fmt.Sprintf("Restarting at %d. Send RETR to resume.", n))
}

func cmdAbor(_ *Server, _ *ftp.Session, st *session, _ string) {
	// A transfer that ABOR stopped has already answered 426.
	st.reset()
	st.rest = 0
	st.conn.reply(226, "ABOR done; no transfer is running.")
}
