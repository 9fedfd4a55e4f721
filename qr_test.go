package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"rsc.io/qr"

	"example.com/share/internal/testutil"
)

var qrURLs = []string{
	"http://192.168.1.23:8000/",
	"http://[fd00:1234:5678:9abc::23]:8000/",
	"http://10.0.0.1:1/",
	"http://a-rather-long-host-name.example.internal:65535/with/a/path/" + strings.Repeat("x", 80),
}

// readDrawnQR turns what printQR drew back into a module matrix (true is
// dark), checking the colour codes of every line on the way.
func readDrawnQR(t *testing.T, drawn string) [][]bool {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(drawn, "\n"), "\n")
	halves := map[rune][2]bool{' ': {false, false}, '▀': {true, false}, '▄': {false, true}, '█': {true, true}}
	var rows [][]bool
	for i, line := range lines {
		body, ok := strings.CutPrefix(line, qrColors)
		if !ok {
			t.Fatalf("line %d does not set black on white: %q", i, line)
		}
		body, ok = strings.CutSuffix(body, qrReset)
		if !ok {
			t.Fatalf("line %d does not reset the colours: %q", i, line)
		}
		var top, bottom []bool
		for _, r := range body {
			h, ok := halves[r]
			if !ok {
				t.Fatalf("line %d holds %q, not a half block", i, r)
			}
			top, bottom = append(top, h[0]), append(bottom, h[1])
		}
		rows = append(rows, top, bottom)
	}
	return rows
}

func TestPrintQRDrawsTheLibraryMatrix(t *testing.T) {
	for _, url := range qrURLs {
		t.Run(url, func(t *testing.T) {
			var out bytes.Buffer
			if err := printQR(&out, url); err != nil {
				t.Fatal(err)
			}
			code, err := qr.Encode(url, qr.M)
			if err != nil {
				t.Fatal(err)
			}
			got := readDrawnQR(t, out.String())
			side := code.Size + 8 // four light modules on each side
			if want := (side + 1) / 2 * 2; len(got) != want {
				t.Fatalf("drew %d module rows, want %d", len(got), want)
			}
			for y, row := range got {
				if len(row) != side {
					t.Fatalf("row %d is %d modules wide, want %d", y, len(row), side)
				}
				for x, dark := range row {
					want := x >= 4 && y >= 4 && x < 4+code.Size && y < 4+code.Size && code.Black(x-4, y-4)
					if dark != want {
						t.Fatalf("module (%d,%d) dark=%v, want %v", x, y, dark, want)
					}
				}
			}
		})
	}
}

// TestPrintQRScans reads the drawing back with a real QR decoder, zbarimg
// (Debian package zbar-tools), from a picture of the drawn modules.
func TestPrintQRScans(t *testing.T) {
	zbarimg := testutil.NeedTool(t, "zbarimg")
	for _, url := range qrURLs {
		var out bytes.Buffer
		if err := printQR(&out, url); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "qr.png")
		writeModulesPNG(t, file, readDrawnQR(t, out.String()))
		got, err := exec.Command(zbarimg, "--quiet", "--raw", file).Output()
		if err != nil {
			t.Fatalf("zbarimg could not read the code of %s: %v", url, err)
		}
		if strings.TrimSuffix(string(got), "\n") != url {
			t.Errorf("zbarimg read %q, want %q", got, url)
		}
	}
}

// writeModulesPNG saves the matrix as a black-on-white picture, 6 pixels
// per module.
func writeModulesPNG(t *testing.T, file string, rows [][]bool) {
	t.Helper()
	const scale = 6
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*scale, len(rows)*scale))
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			c := color.Gray{Y: 255}
			if rows[y/scale][x/scale] {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
