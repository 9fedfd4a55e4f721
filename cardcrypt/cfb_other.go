//go:build !amd64 || purego

package cardcrypt

const useAESNI = false

// useStitched is a variable, as on amd64, for tests of the other paths.
var useStitched = false

func cfbEncryptAESNI(xk *[240]byte, reg *[16]byte, dst, src *byte, blocks int) {
	panic("cardcrypt: no assembly CFB loop on this platform")
}

func cfbSHA1AESNI(xk *[240]byte, reg *[16]byte, h *[5]uint32, dst, src *byte, chunks int) {
	panic("cardcrypt: no assembly CFB loop on this platform")
}
