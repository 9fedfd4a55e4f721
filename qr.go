package main

import (
	"bufio"
	"fmt"
	"io"

	"rsc.io/qr"
)

// qrQuiet is the width in modules of the light border a QR reader needs
// around the symbol (ISO/IEC 18004 asks for four).
const qrQuiet = 4

// Terminal colours of the QR code. They are set explicitly, black on bright
// white, because a reader needs dark modules on a light ground: relying on
// the terminal's own colours would draw a negative on dark themes.
const (
	qrColors = "\x1b[30;107m"
	qrReset  = "\x1b[0m"
)

// qrHalfBlocks maps a pair of vertically stacked modules (top, bottom;
// true is dark) to the character that draws them: the foreground colour
// paints the dark half.
var qrHalfBlocks = [2][2]string{
	{" ", "▄"}, // top light: both light, bottom dark
	{"▀", "█"}, // top dark: bottom light, both dark
}

// printQR draws a QR code of url on w with Unicode half blocks, two modules
// per character row, inside a quiet zone.
func printQR(w io.Writer, url string) error {
	code, err := qr.Encode(url, qr.M)
	if err != nil {
		return fmt.Errorf("cannot make a QR code of %q: %w", url, err)
	}
	bw := bufio.NewWriter(w)
	side := code.Size + 2*qrQuiet
	for y := 0; y < side; y += 2 {
		bw.WriteString(qrColors)
		for x := 0; x < side; x++ {
			top := qrDark(code, x, y)
			bottom := qrDark(code, x, y+1)
			bw.WriteString(qrHalfBlocks[b2i(top)][b2i(bottom)])
		}
		// Reset before the newline so the background does not bleed into
		// the rest of the line.
		bw.WriteString(qrReset + "\n")
	}
	return bw.Flush()
}

// qrDark reports whether the module at (x, y) of the symbol with its quiet
// zone is dark; everything outside the symbol is light.
func qrDark(code *qr.Code, x, y int) bool {
	x, y = x-qrQuiet, y-qrQuiet
	if x < 0 || y < 0 || x >= code.Size || y >= code.Size {
		return false
	}
	return code.Black(x, y)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
