package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"example.com/share/cardcrypt"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of share",
		Action: func(c *cli.Context) error {
			printVersion(c)
			return nil
		},
	}
}

// version is the release version, stamped in by release/build with
// -ldflags "-X main.version=VERSION". Other builds leave it empty and
// name the module version instead.
var version string

// versionString names the release or module version, the commit it was
// built from, the Go toolchain and platform, and a build without
// smartcard support.
func versionString() string {
	v, commit := "(devel)", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				commit = " " + s.Value[:12]
			}
			if s.Key == "vcs.modified" && s.Value == "true" && commit != "" {
				commit += "+dirty"
			}
		}
	}
	if version != "" {
		v = version
	}
	s := fmt.Sprintf("%s%s %s %s/%s", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if !cardcrypt.Smartcards {
		s += " (no smartcard support)"
	}
	return s
}
