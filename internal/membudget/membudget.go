// Package membudget splits share's memory: the soft limit the garbage
// collector keeps the heap under, and what each cache kept between
// requests may hold.
//
// The caches, all full, must leave the soft limit well clear. A live heap
// at the limit makes the collector run on every small allocation: after
// a hostile load had filled them (and a rendering had held on to a
// listing the listing cache had let go), an idle server spent 11-14 % of
// a core collecting.
package membudget

// SoftLimit is the heap size past which the garbage collector works
// harder rather than let the heap grow: with every connection cap filled
// by hostile clients it keeps peak RSS under the 128 MiB budget
// (bench/RESULTS.md). GOMEMLIMIT overrides it.
const SoftLimit = 96 << 20

// What each kept cache may hold, in bytes.
const (
	Listings    = 24 << 20 // folder listings (sharefs/dircache.go)
	Renderings  = 16 << 20 // listing pages and JSON, every variant (httpshare/cache.go)
	SmallFiles  = 8 << 20  // small files served from memory (httpshare/smallfile.go)
	Checkpoints = 16 << 20 // encoder checkpoints of encrypted files (cardcrypt/checkpoint.go)
)

// Kept is what the caches hold when all are full: two thirds of the soft
// limit, so an idle server's heap stays far from it and requests in
// flight (archive indexes, FTP listings being sent, buffers) have the
// rest.
const Kept = Listings + Renderings + SmallFiles + Checkpoints
