package main

import (
	"testing"

	"example.com/share/internal/transfers"
)

// TestSummary: the stop line counts files served whole and transfers cut
// short apart, with the bytes sent by both.
func TestSummary(t *testing.T) {
	for _, c := range []struct {
		t    transfers.Totals
		want string
	}{
		{transfers.Totals{}, "Stopped. Nothing was downloaded."},
		{transfers.Totals{Files: 2, Bytes: 48 << 20, Clients: 1}, "Stopped. 2 files served (48.0 MiB) to 1 client."},
		{transfers.Totals{Cut: 1, Bytes: 166 << 20, Clients: 1}, "Stopped. 0 files served, 1 cut short (166.0 MiB) to 1 client."},
		{transfers.Totals{Files: 1, Cut: 3, Bytes: 0, Clients: 2}, "Stopped. 1 file served, 3 cut short (0 B) to 2 clients."},
	} {
		if got := summary(c.t); got != c.want {
			t.Errorf("summary(%+v) = %q, want %q", c.t, got, c.want)
		}
	}
}
