package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Categories of the options in --help.
const (
	catServing    = "Serving"
	catFTP        = "FTP"
	catPrivate    = "Private shares"
	catEncryption = "Encryption"
	catSigning    = "Signing"
	catDiscovery  = "Discovery"
	catOutput     = "Output"
)

// categoryOrder is the order of the groups in --help.
var categoryOrder = []string{catServing, catFTP, catPrivate, catEncryption, catSigning, catDiscovery, catOutput, ""}

// helpText is --help: the options by group, then examples. It is used as
// urfave/cli's template, so braces are kept out of it.
func helpText(flags []cli.Flag, commands []*cli.Command) string {
	var b strings.Builder
	b.WriteString("Usage: share [options] [DIR] [options]\n\n" +
		"Serves DIR (default: the current folder) read-only to the local network over\n" +
		"HTTP and anonymous FTP. Options go before or after DIR; each can also be set\n" +
		"with an environment variable SHARE_<NAME>, such as SHARE_HTTP=:8080.\n")
	for _, cat := range categoryOrder {
		var lines [][2]string
		for _, f := range flags {
			if cf, ok := f.(cli.CategorizableFlag); ok && cf.GetCategory() == cat {
				lines = append(lines, helpLine(f))
			}
		}
		if len(lines) == 0 {
			continue
		}
		if cat == "" {
			cat = "Other"
		}
		fmt.Fprintf(&b, "\n%s:\n", cat)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %-26s %s\n", l[0], l[1])
		}
	}
	b.WriteString("\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-26s %s\n", "share "+c.Name, c.Usage)
	}
	b.WriteString("  share --help, share --version\n" + `
Examples:
  share                          the current folder: HTTP on :8000, FTP on :2121
  share ~/pub --no-ftp           ~/pub over HTTP only
  share ~/pub --http 8080        HTTP on port 8080
  share --recipient ada.asc .    every download encrypted to Ada's public key
  share --log-format json . 2>access.log
`)
	return strings.NewReplacer("{{", "{ {", "}}", "} }").Replace(b.String())
}

// helpLine is an option's name column and its text, with a default that
// is not plain off and the environment variable.
func helpLine(f cli.Flag) [2]string {
	name := "--" + f.Names()[0]
	for _, a := range f.Names()[1:] {
		name += ", -" + a
	}
	text := ""
	if df, ok := f.(cli.DocGenerationFlag); ok {
		if df.TakesValue() {
			usage := df.GetUsage()
			placeholder := "VALUE"
			if parts := strings.Split(usage, "`"); len(parts) >= 3 {
				placeholder, usage = parts[1], strings.Join(parts, "")
			}
			name += " " + placeholder
			text = usage
			if d := df.GetDefaultText(); d != "" && d != `""` && !strings.Contains(usage, "(default:") {
				text += " (default: " + strings.Trim(d, `"`) + ")"
			}
		} else {
			text = df.GetUsage()
		}
		if env := df.GetEnvVars(); len(env) > 0 {
			text += " [$" + env[0] + "]"
		}
	}
	return [2]string{name, text}
}

// requires lists options that mean nothing without one of others: one
// rule, so that none is silently ignored.
var requires = []struct {
	name  string
	needs []string
}{
	{"reader", []string{"encrypt", "sign"}},
	{"armor", []string{"encrypt", "recipient", "sign"}},
	{"pin-file", []string{"sign"}},
	{"uid", []string{"sign"}},
}

// turnedOff lists, for each --no-* option, the options of the server it
// turns off: given together, one of them would be silently ignored.
var turnedOff = []struct {
	off, proto string
	options    []string
}{
	{"no-http", "HTTP", []string{"http"}},
	{"no-ftp", "FTP", []string{"ftp", "passive-ports", "ftp-idle"}},
}

// checkRequires refuses an option typed without any option it needs, or
// with the --no-* option that turns its server off. An option that comes
// from its SHARE_* variable is a standing default, never refused here:
// SHARE_READER in a profile must not stop a plain `share`.
func checkRequires(c *cli.Context) error {
	// A switch given as false counts as not given.
	on := func(name string) bool { return c.IsSet(name) && c.Value(name) != false }
	typed := func(name string) bool { return on(name) && os.Getenv(envOf(name)[0]) == "" }
	for _, r := range requires {
		if !typed(r.name) || slices.ContainsFunc(r.needs, on) {
			continue
		}
		return usagef("--%s needs --%s", r.name, strings.Join(r.needs, " or --"))
	}
	for _, t := range turnedOff {
		if !c.Bool(t.off) {
			continue
		}
		if i := slices.IndexFunc(t.options, typed); i >= 0 {
			return usagef("--%s is for %s, which %s turns off; drop one of them", t.options[i], t.proto, optionName(t.off))
		}
	}
	return nil
}

// optionName is how an option is named in an error: with its variable
// when that is set, as the option may come from there.
func optionName(name string) string {
	if env := envOf(name)[0]; os.Getenv(env) != "" {
		return fmt.Sprintf("--%s (%s is set)", name, env)
	}
	return "--" + name
}

// printVersion is `share version` and `share --version`: one format.
func printVersion(c *cli.Context) {
	fmt.Fprintln(c.App.Writer, "share", versionString())
}

// prepareArgs checks the command line's option names and values in plain
// words and moves the options before the folder, so that `share DIR
// --no-ftp` works: the flag package stops at the first argument. A
// subcommand's arguments are left as they are.
func prepareArgs(args []string, flags []cli.Flag, commands []string) ([]string, error) {
	if len(args) < 2 {
		return args, nil
	}
	byName := flagsByName(flags)
	var opts, rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			if len(opts) == 0 && len(rest) == 0 && slices.Contains(commands, a) {
				return args, nil
			}
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f, ok := byName[name]
		if !ok {
			spelt, _, _ := strings.Cut(a, "=")
			return nil, unknownFlag(spelt, name, byName)
		}
		opts = append(opts, a)
		if !takesValue(f) {
			if hasValue {
				if err := checkValue(f, "--"+name, value); err != nil {
					return nil, err
				}
			}
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, usagef("--%s needs a value", name)
			}
			i++
			value = args[i]
			opts = append(opts, value)
		}
		if err := checkValue(f, "--"+name, value); err != nil {
			return nil, err
		}
	}
	return append(append([]string{args[0]}, opts...), rest...), nil
}

// checkEnv checks the values of the SHARE_* variables that are set.
func checkEnv(flags []cli.Flag) error {
	for _, f := range flags {
		for _, env := range envVarsOf(f) {
			if v, ok := os.LookupEnv(env); ok {
				if err := checkValue(f, env, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func envVarsOf(f cli.Flag) []string {
	if e, ok := f.(interface{ GetEnvVars() []string }); ok {
		return e.GetEnvVars()
	}
	return nil
}

// checkValue tells, in plain words, what is wrong with a switch or a
// duration; where names the option or variable.
func checkValue(f cli.Flag, where, value string) error {
	switch f.(type) {
	case *cli.BoolFlag:
		if _, err := strconv.ParseBool(value); err != nil {
			return usagef("%s=%q is not a yes/no value; use true or false (or 1 or 0)", where, value)
		}
	case *cli.DurationFlag:
		if _, err := time.ParseDuration(value); err != nil {
			hint := ""
			if strings.Trim(value, "0123456789") == "" && value != "" {
				hint = fmt.Sprintf(" (%ss for %s seconds)", value, value)
			}
			return usagef("%s %q is not a duration; give a number with a unit, such as 30s, 5m or 1h%s", where, value, hint)
		}
	}
	return nil
}

// takesValue reports whether an option reads the next argument.
func takesValue(f cli.Flag) bool {
	if dv, ok := f.(cli.DocGenerationFlag); ok {
		return dv.TakesValue()
	}
	return true
}

// flagsByName maps every name and alias, and help and version, to its flag.
func flagsByName(flags []cli.Flag) map[string]cli.Flag {
	m := map[string]cli.Flag{}
	for _, f := range append(slices.Clone(flags), cli.HelpFlag, cli.VersionFlag) {
		for _, n := range f.Names() {
			m[n] = f
		}
	}
	return m
}

// habits maps options of other tools to the one share has.
var habits = map[string]string{
	"port": "--http PORT (and --ftp PORT for FTP)",
	"p":    "--http PORT (and --ftp PORT for FTP)",
	"bind": "--http ADDR:PORT",
	"b":    "--http ADDR:PORT",
	"dir":  "the folder as the argument: share DIR",
	"d":    "the folder as the argument: share DIR",
}

// unknownFlag is the error for an option share does not have, with the
// nearest one it has.
func unknownFlag(spelt, name string, known map[string]cli.Flag) error {
	if s, ok := habits[name]; ok {
		return usagef("there is no option %s; did you mean %s?", spelt, s)
	}
	best, bestDist := "", 3
	for k := range known {
		if d := editDistance(name, k); d < bestDist || d == bestDist && best != "" && k < best {
			best, bestDist = k, d
		}
	}
	if best != "" && len(best) > 1 {
		return usagef("there is no option %s; did you mean --%s?", spelt, best)
	}
	return usagef("there is no option %s", spelt)
}

// editDistance is the Levenshtein distance of two short names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
