package sharefs

import (
	"context"
	"fmt"
	"path"
	"strings"
)

// WalkFunc is called by Walk for each entry, with its slash-separated
// path relative to the walked folder ("" for that folder itself).
type WalkFunc func(rel string, e Entry) error

// Walk calls fn for folder dir of view and then, depth-first, for every
// entry below it, in the view's order (folders first). It lists through
// the view only, so the view's hidden-file and symlink policy holds, and
// a view lists no link back up the path, so the walk cannot loop. A
// sub-folder that cannot be listed (unreadable, or gone since its parent
// was listed) is left out. It stops at the first error fn returns, or
// when ctx ends (checked before every entry, so a walk for a client that
// has gone stops at once).
func Walk(ctx context.Context, view View, dir string, fn WalkFunc) error {
	top, err := view.Stat(dir)
	if err != nil {
		return fmt.Errorf("walk %q: %w", dir, err)
	}
	if !top.IsDir {
		return fmt.Errorf("walk %q: %w", dir, ErrNotDir)
	}
	if err := fn("", top); err != nil {
		return err
	}
	wk := &walker{ctx: ctx, view: view, fn: fn}
	return wk.folder(dir, "")
}

// walker holds the state of one walk.
type walker struct {
	ctx  context.Context
	view View
	fn   WalkFunc
}

// folder walks the entries of folder src, whose path relative to the
// walked folder is rel.
func (wk *walker) folder(src, rel string) error {
	entries, err := wk.view.List(src)
	if err != nil && rel != "" {
		return nil // left out
	}
	if err != nil {
		return fmt.Errorf("list %q: %w", src, err)
	}
	for _, child := range entries {
		if err := wk.ctx.Err(); err != nil {
			return err
		}
		if err := wk.entry(src, rel, child); err != nil {
			return err
		}
	}
	return nil
}

// entry visits one entry of folder src and, for a folder, what it holds.
func (wk *walker) entry(src, rel string, e Entry) error {
	childRel := path.Join(rel, e.Name)
	if err := wk.fn(childRel, e); err != nil {
		return err
	}
	if !e.IsDir {
		return nil
	}
	return wk.folder(Join(src, e.Name), childRel)
}

// Join appends the relative path rel to the view path dir.
func Join(dir, rel string) string {
	switch {
	case rel == "":
		return dir
	case dir == "" || strings.HasSuffix(dir, "/"):
		return dir + rel
	}
	return dir + "/" + rel
}
