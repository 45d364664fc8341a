//go:build !linux

package digest

import "context"

// hashFileCached hashes the file at p, consulting c (if not nil) with the
// open file's own fstat, so the identity checked is the file read.
func hashFileCached(ctx context.Context, p string, nofollow bool, add func(int64), c *Cache) (string, int64, error) {
	return hashFileGeneric(ctx, p, nofollow, add, c)
}
