//go:build unix

package sharefs

import (
	"os"
	"syscall"
)

// openRead opens a file of root for reading. O_NONBLOCK so that a FIFO
// swapped in after the type check cannot hang the server; O_NOCTTY so a
// terminal cannot become ours.
func openRead(root *os.Root, name string) (*os.File, error) {
	return root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
