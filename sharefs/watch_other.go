//go:build !linux

package sharefs

import "errors"

// startSysWatcher: no notification service is used on this system yet,
// so tokens are never current and caches read again every time.
func startSysWatcher(string, *watcher) (sysWatcher, error) {
	return nil, errors.New("no change notification on this system")
}
