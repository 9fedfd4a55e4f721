package ftpshare

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits on the patterns of LIST, NLST, MLSD and STAT ("*.txt"). The
// syntax is path.Match's; the limits keep what one command can cost small
// whatever the folder holds.
const (
	// maxGlobLen is the longest pattern, in bytes: no name is longer.
	maxGlobLen = 255
	// maxGlobStars is how many runs of "*" a pattern may hold.
	maxGlobStars = 4
	// maxGlobItems is how many characters and ranges the character
	// classes of a pattern may hold together ("[a-z0-9_]" holds three).
	maxGlobItems = 32
	// globBudget is how many matching steps one command may take beyond
	// globStepsPerByte for each byte of the names it matches: about 20 ms
	// of a core. "*.txt" takes about two steps per byte, "*a*b*c*d" over
	// long names or "*???...?" up to the pattern's length per byte.
	globBudget = 8_000_000
	// globStepsPerByte is the allowance of each byte of a name.
	globStepsPerByte = 4
)

// errBadGlob reports a pattern path.Match would refuse as malformed. Such
// a name is answered as missing, as before patterns were checked.
var errBadGlob = errors.New("malformed pattern")

// errGlobBudget reports a pattern that took more than globBudget steps.
var errGlobBudget = fmt.Errorf("pattern too costly to match in this folder (over %d steps); use a simpler one", globBudget)

// globLimitError reports a pattern over maxGlobLen, maxGlobStars or
// maxGlobItems; its text goes to the client.
type globLimitError struct{ why string }

func (e globLimitError) Error() string { return e.why }

// globLimits is the text of the limits, for replies and docs.
var globLimits = fmt.Sprintf("at most %d bytes, %d runs of '*' and %d class items",
	maxGlobLen, maxGlobStars, maxGlobItems)

// Kinds of glob tokens.
const (
	tokByte  = iota // one byte, as written
	tokAny          // "?": one character, not '/'
	tokClass        // "[...]": one character in (or not in) the ranges
	tokStar         // "*": any bytes but '/'
)

// globToken is one element of a compiled pattern.
type globToken struct {
	kind   uint8
	b      byte        // tokByte
	negate bool        // tokClass
	ranges []runeRange // tokClass
}

// runeRange is one item of a character class: lo-hi, or lo alone.
type runeRange struct{ lo, hi rune }

// glob is a compiled pattern. It matches as path.Match does, counting its
// steps so that a command can stop at its budget.
type glob struct{ toks []globToken }

// compileGlob checks pattern against the limits and compiles it.
func compileGlob(pattern string) (*glob, error) {
	if len(pattern) > maxGlobLen {
		return nil, globLimitError{fmt.Sprintf("pattern too long (%d bytes); patterns may have %s", len(pattern), globLimits)}
	}
	g := &glob{}
	stars, items := 0, 0
	for p := pattern; len(p) > 0; {
		var tok globToken
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			stars++
			tok.kind = tokStar
		case '?':
			p = p[1:]
			tok.kind = tokAny
		case '[':
			var err error
			tok, p, err = compileClass(p[1:])
			if err != nil {
				return nil, err
			}
			items += len(tok.ranges)
		case '\\':
			if len(p) < 2 {
				return nil, errBadGlob
			}
			tok.b, p = p[1], p[2:]
		default:
			tok.b, p = p[0], p[1:]
		}
		g.toks = append(g.toks, tok)
	}
	if stars > maxGlobStars || items > maxGlobItems {
		return nil, globLimitError{fmt.Sprintf("pattern too complex (%d runs of '*', %d class items); patterns may have %s",
			stars, items, globLimits)}
	}
	return g, nil
}

// compileClass compiles a character class; p starts after its "[".
func compileClass(p string) (globToken, string, error) {
	tok := globToken{kind: tokClass}
	if len(p) > 0 && p[0] == '^' {
		tok.negate, p = true, p[1:]
	}
	for {
		if len(p) > 0 && p[0] == ']' && len(tok.ranges) > 0 {
			return tok, p[1:], nil
		}
		if len(tok.ranges) >= maxGlobItems {
			// Checked here too, so a huge class is not compiled first.
			return tok, "", globLimitError{"character class too long; patterns may have " + globLimits}
		}
		lo, rest, err := classChar(p)
		if err != nil {
			return tok, "", err
		}
		hi := lo
		if rest[0] == '-' {
			if hi, rest, err = classChar(rest[1:]); err != nil {
				return tok, "", err
			}
		}
		tok.ranges = append(tok.ranges, runeRange{lo, hi})
		p = rest
	}
}

// classChar reads one character of a class, escaped or not. Like
// path.Match it refuses a bare '-' or ']', a bad UTF-8 byte, and a class
// that is not closed.
func classChar(p string) (rune, string, error) {
	if len(p) == 0 || p[0] == '-' || p[0] == ']' {
		return 0, "", errBadGlob
	}
	if p[0] == '\\' {
		p = p[1:]
	}
	r, n := utf8.DecodeRuneInString(p)
	if len(p) == 0 || (r == utf8.RuneError && n == 1) || len(p) == n {
		return 0, "", errBadGlob
	}
	return r, p[n:], nil
}

// match reports whether name matches, taking steps from *budget; it
// reports false once the budget is spent. Only the last "*" seen is ever
// tried again, so a name costs at most its length times the pattern's.
func (g *glob) match(name string, budget *int) bool {
	ti, ni := 0, 0
	star, starAt := -1, 0 // the last "*" and where its match ends
	for {
		if *budget--; *budget < 0 {
			return false
		}
		if ti < len(g.toks) {
			t := &g.toks[ti]
			if t.kind == tokStar {
				star, starAt = ti, ni
				ti++
				continue
			}
			if n := t.accept(name[ni:], budget); n > 0 {
				ti, ni = ti+1, ni+n
				continue
			}
		} else if ni == len(name) {
			return true
		}
		// Mismatch: let the last "*" take one more byte, if it can.
		if star < 0 || starAt >= len(name) || name[starAt] == '/' {
			return false
		}
		starAt++
		ti, ni = star+1, starAt
	}
}

// accept returns how many bytes of s the token matches, 0 for none.
func (t *globToken) accept(s string, budget *int) int {
	if len(s) == 0 {
		return 0
	}
	switch t.kind {
	case tokByte:
		if s[0] == t.b {
			return 1
		}
	case tokAny:
		if s[0] != '/' {
			_, n := utf8.DecodeRuneInString(s)
			return n
		}
	case tokClass:
		r, n := utf8.DecodeRuneInString(s)
		*budget -= len(t.ranges)
		in := false
		for _, rg := range t.ranges {
			in = in || (rg.lo <= r && r <= rg.hi)
		}
		if in != t.negate {
			return n
		}
	}
	return 0
}
