//go:build !amd64 || purego

package cardcrypt

const useAESNI = false

func cfbEncryptAESNI(xk *[240]byte, reg *[16]byte, dst, src *byte, blocks int) {
	panic("cardcrypt: no assembly CFB loop on this platform")
}
