//go:build !linux

package digest

import "io/fs"

// keyOf: the cache is only implemented where (dev, inode, mtime, ctime) are
// known to be exposed; elsewhere every file is hashed.
func keyOf(fs.FileInfo) (cacheKey, bool) { return cacheKey{}, false }

func checkCacheOwner(string) error { return nil }
