package ftpshare

import (
	"errors"
	"net/netip"
	"sync"
	"unsafe"

	"example.com/share/sharefs"
)

// Bounds on the memory of the listings being sent. A listing's entries are
// kept until its last line is written, which takes as long as the client
// takes to read it (up to the stall time). Without a bound, every session
// under the caps could hold a copy of a big folder's listing: 200 copies
// of a 20,000-file folder are about a GiB.
const (
	// defaultListMem bounds the entries all sessions hold for listings.
	defaultListMem = 32 << 20
	// defaultListMemPerAddr bounds those of one client address.
	defaultListMemPerAddr = 8 << 20
)

// errListingMemory reports a listing over the bounds on held listings.
var errListingMemory = errors.New("too much memory held by listings being sent")

// entrySize is what one entry of a listing costs besides its name.
const entrySize = int64(unsafe.Sizeof(sharefs.Entry{}))

// listingSize estimates the memory a listing holds.
func listingSize(entries []sharefs.Entry) int64 {
	n := int64(len(entries)) * entrySize
	for _, e := range entries {
		n += int64(len(e.Name))
	}
	return n
}

// heldListing is a listing slice being sent by one or more sessions.
type heldListing struct {
	refs int
	size int64
	key  netip.Addr // the client address it is counted under
}

// holdListing counts entries under the bounds until release is called,
// or fails with errListingMemory. A slice that sessions already hold (a
// listing shared through a cache) costs nothing more. A listing is always
// let through when nothing else is held (by its address, or at all), so
// that a folder bigger than a bound can still be listed.
func (s *Server) holdListing(c *ctrlConn, entries []sharefs.Entry) (release func(), err error) {
	if len(entries) == 0 {
		return func() {}, nil
	}
	id, key := &entries[0], clientKey(c.peer)
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.listHeld[id]
	if h == nil {
		size, held := listingSize(entries), s.listHeldBy[key]
		if (held > 0 && held+size > s.listMemPerAddr) || (s.listHeldAll > 0 && s.listHeldAll+size > s.listMem) {
			return nil, errListingMemory
		}
		h = &heldListing{size: size, key: key}
		s.listHeld[id] = h
		s.listHeldBy[key] += size
		s.listHeldAll += size
	}
	h.refs++
	var once sync.Once
	return func() { once.Do(func() { s.releaseListing(id) }) }, nil
}

// releaseListing ends one session's hold of the listing id.
func (s *Server) releaseListing(id *sharefs.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.listHeld[id]
	if h.refs--; h.refs > 0 {
		return
	}
	delete(s.listHeld, id)
	s.listHeldAll -= h.size
	if s.listHeldBy[h.key] -= h.size; s.listHeldBy[h.key] <= 0 {
		delete(s.listHeldBy, h.key)
	}
}

// listingBytes is the memory held by listings being sent, for the log.
func (s *Server) listingBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listHeldAll
}
