package httpshare

import (
	"net/url"
	"slices"

	"example.com/share/sharefs"
)

// listOrder is how a listing is sorted: by name (the view's natural
// order), size or modification time, either way. Folders always come
// first.
type listOrder struct {
	by   string // "name", "size" or "time"
	desc bool
}

// defaultOrder is the view's own order.
var defaultOrder = listOrder{by: "name"}

// listOrderOf reads ?sort=name|size|time and ?order=asc|desc; anything
// else means the default, so the set of cached variants stays small.
func listOrderOf(q url.Values) listOrder {
	o := defaultOrder
	switch q.Get("sort") {
	case "size":
		o.by = "size"
	case "time":
		o.by = "time"
	}
	o.desc = q.Get("order") == "desc"
	return o
}

// query is the order as URL query parameters, "" for the default.
func (o listOrder) query() string {
	if o == defaultOrder {
		return ""
	}
	q := "?sort=" + o.by
	if o.desc {
		q += "&order=desc"
	}
	return q
}

// sorted returns the entries, as the view ordered them, in order o. The
// view's order breaks ties, so the result is stable.
func sorted(entries []sharefs.Entry, o listOrder) []sharefs.Entry {
	if o == defaultOrder {
		return entries
	}
	out := slices.Clone(entries)
	slices.SortStableFunc(out, func(a, b sharefs.Entry) int {
		if a.IsDir != b.IsDir {
			if a.IsDir {
				return -1
			}
			return 1
		}
		c := 0
		switch o.by {
		case "size":
			c = cmpInt(a.Size, b.Size)
		case "time":
			c = a.ModTime.Compare(b.ModTime)
		}
		if o.desc {
			c = -c
		}
		return c
	})
	if o.by == "name" && o.desc {
		reverseGroups(out)
	}
	return out
}

// reverseGroups reverses folders and files each in place, keeping
// folders first.
func reverseGroups(entries []sharefs.Entry) {
	split := 0
	for split < len(entries) && entries[split].IsDir {
		split++
	}
	slices.Reverse(entries[:split])
	slices.Reverse(entries[split:])
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
