package cardcrypt

import (
	"container/list"
	"net/netip"
	"sync"
)

// signQueue admits signature requests that need the card: at most max
// at once, at most perClient of them from one client, so a flood is
// refused instead of piling up card operations.
type signQueue struct {
	mu        sync.Mutex
	max       int
	perClient int
	total     int
	byClient  map[netip.Addr]int
}

func newSignQueue(max, perClient int) *signQueue {
	return &signQueue{max: max, perClient: perClient, byClient: map[netip.Addr]int{}}
}

// enter takes a place for client, or reports false when none is left.
func (q *signQueue) enter(client netip.Addr) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.total >= q.max || q.byClient[client] >= q.perClient {
		return false
	}
	q.total++
	q.byClient[client]++
	return true
}

// leave gives back a place taken by enter.
func (q *signQueue) leave(client netip.Addr) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.total--
	if q.byClient[client]--; q.byClient[client] <= 0 {
		delete(q.byClient, client)
	}
}

// sigCache keeps the most recently used signatures by key. It is safe
// for concurrent use.
type sigCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *sigItem, most recent first
	items map[string]*list.Element
}

type sigItem struct {
	key string
	sig []byte
}

func newSigCache(max int) *sigCache {
	return &sigCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *sigCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*sigItem).sig, true
}

func (c *sigCache) put(key string, sig []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*sigItem).sig = sig
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&sigItem{key, sig})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*sigItem).key)
	}
}
