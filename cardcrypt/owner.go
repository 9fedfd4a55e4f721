package cardcrypt

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ownerLookupTime bounds the question to GnuPG.
const ownerLookupTime = 3 * time.Second

// FindOwner asks the local GnuPG which key the card's encryption key fpr
// belongs to, and returns that key's primary fingerprint (the one gpg
// --list-keys shows) and user ID. ok is false when GnuPG is not
// installed, has no home yet (it is not created here), or does not know
// the key (gpg --card-status and fetch teach it).
func FindOwner(fpr []byte) (primary []byte, userID string, ok bool) {
	gpg, err := exec.LookPath("gpg")
	if err != nil || !gnupgHomeExists() {
		return nil, "", false
	}
	ctx, cancel := context.WithTimeout(context.Background(), ownerLookupTime)
	defer cancel()
	cmd := exec.CommandContext(ctx, gpg, "--batch", "--no-tty", "--no-auto-check-trustdb", "--with-colons", "--fixed-list-mode", "--list-keys", strings.ToUpper(hex.EncodeToString(fpr)))
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return nil, "", false
	}
	return ownerOf(string(out))
}

// ownerOf reads the primary fingerprint and first user ID of the first
// key in gpg's colon listing.
func ownerOf(listing string) (primary []byte, userID string, ok bool) {
	inPrimary := false
	for line := range strings.SplitSeq(listing, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 10 {
			continue
		}
		switch f[0] {
		case "pub":
			if primary != nil {
				return primary, userID, true // a second key: keep the first
			}
			inPrimary = true
		case "fpr":
			if inPrimary && primary == nil {
				primary, _ = hex.DecodeString(f[9])
			}
		case "uid":
			if userID == "" && f[1] != "r" && f[1] != "e" {
				userID = unescapeColons(f[9])
			}
		case "sub":
			inPrimary = false
		}
	}
	return primary, userID, primary != nil
}

// unescapeColons undoes gpg's \xNN escapes in colon listings.
func unescapeColons(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := hex.DecodeString(s[i+2 : i+4]); err == nil {
				b.Write(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// gnupgHomeExists reports whether GnuPG's home folder exists, so asking
// gpg does not create one.
func gnupgHomeExists() bool {
	home := os.Getenv("GNUPGHOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return false
		}
		home = filepath.Join(h, ".gnupg")
	}
	st, err := os.Stat(home)
	return err == nil && st.IsDir()
}
