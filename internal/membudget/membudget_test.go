package membudget

import "testing"

func TestKeptWellUnderSoftLimit(t *testing.T) {
	if Kept > SoftLimit*2/3 {
		t.Errorf("caches may keep %d MiB, over two thirds of the %d MiB soft limit", Kept>>20, SoftLimit>>20)
	}
}
