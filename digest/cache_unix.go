//go:build linux

package digest

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"
)

func keyOf(fi fs.FileInfo) (cacheKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return cacheKey{}, false
	}
	return cacheKey{
		dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime:    st.Mtim.Nano(),
		ctime:    st.Ctim.Nano(),
		openedAt: time.Now().UnixNano(),
	}, true
}

func checkCacheOwner(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return errors.New("writable by group or others: refusing to trust it")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return errors.New("not owned by the current user: refusing to trust it")
	}
	return nil
}
