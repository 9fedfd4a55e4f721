package testutil

import (
	"runtime"
	"time"
)

// HeapInUse is the heap in use after a collection, in bytes.
func HeapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// HeapPer is the heap each of n stalled clients holds: it starts them
// (start(i) for each), lets them settle, and divides what the heap grew
// by n. It collects twice at the end, since what idles in a sync.Pool
// goes only at the second collection.
func HeapPer(n int, settle time.Duration, start func(i int)) int64 {
	before := HeapInUse()
	for i := range n {
		start(i)
	}
	time.Sleep(settle)
	runtime.GC()
	return (HeapInUse() - before) / int64(n)
}
