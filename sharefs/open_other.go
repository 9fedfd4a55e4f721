//go:build !unix

package sharefs

import "os"

// openRead opens a file of root for reading. (FIFOs and terminals, which
// the Unix version guards against, are not files here.)
func openRead(root *os.Root, name string) (*os.File, error) {
	return root.OpenFile(name, os.O_RDONLY, 0)
}
