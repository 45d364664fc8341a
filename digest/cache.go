package digest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// Incremental re-hash (opt-in, a trust trade-off).
//
// A Cache remembers the SHA-256 of files by their identity and change
// stamps: (device, inode, size, mtime, ctime) as seen by fstat on the open
// file. A file whose five values are all unchanged is not read again. ctime
// cannot be set by an unprivileged user, so an ordinary edit, rename over,
// truncate or touch -m changes the key; but the cache trusts the file system
// and whoever can write the cache directory: anyone able to change the
// cache file, or a file's bytes without changing its ctime (root, raw block
// device access, a file system that does not keep ctime), makes mlattest
// attest a digest that is not the file's. It is therefore never used by
// verification, only offered for re-runs of a step on the same machine.
//
// A file changed within the same timestamp tick as it was hashed would look
// unchanged afterwards ("racily clean"), so a digest is only remembered when
// the file's mtime and ctime are at least cacheMargin older than the moment
// it was opened.
//
// The cache file is "sha256-v1.cache" in the directory: a header line, then
// one line per file: "dev ino size mtime-ns ctime-ns hex". It is written to a
// temp file and renamed; a cache file writable by group or others, or not
// owned by the current user, is refused.

const cacheFile = "sha256-v1.cache"
const cacheHeader = "mlattest hash cache v1"

// cacheMargin: see above; a variable so that tests need not sleep.
var cacheMargin = 2 * time.Second

type cacheKey struct {
	dev, ino           uint64
	size, mtime, ctime int64
	openedAt           int64 // ns, when the file was opened: not part of the identity
}

type cacheID struct{ dev, ino uint64 }

type cacheEntry struct {
	size, mtime, ctime int64
	sum                string
}

// Cache is a digest cache for WithCache; safe for concurrent use.
type Cache struct {
	path    string
	mu      sync.Mutex
	entries map[cacheID]cacheEntry
	dirty   bool
	hits    int64
}

// OpenCache loads the cache in dir, creating dir (mode 0700) if needed. A
// missing cache file is an empty cache.
func OpenCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("digest: hash cache %s: %w", dir, fsutil.Cause(err))
	}
	c := &Cache{path: filepath.Join(dir, cacheFile), entries: map[cacheID]cacheEntry{}}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("digest: hash cache %s: %w", c.path, fsutil.Cause(err))
	}
	if err := checkCacheOwner(c.path); err != nil {
		return nil, fmt.Errorf("digest: hash cache %s: %w", c.path, fsutil.Cause(err))
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) == 0 || string(lines[0]) != cacheHeader {
		return nil, fmt.Errorf("digest: hash cache %s: not a %q file", c.path, cacheHeader)
	}
	for i, l := range lines[1:] {
		if len(l) == 0 {
			continue
		}
		f := bytes.Fields(l)
		if len(f) != 6 || len(f[5]) != 64 {
			return nil, fmt.Errorf("digest: hash cache %s: line %d is malformed", c.path, i+2)
		}
		var n [5]uint64
		for k := range 5 {
			if n[k], err = strconv.ParseUint(string(f[k]), 10, 64); err != nil {
				return nil, fmt.Errorf("digest: hash cache %s: line %d: %w", c.path, i+2, err)
			}
		}
		c.entries[cacheID{n[0], n[1]}] = cacheEntry{int64(n[2]), int64(n[3]), int64(n[4]), string(f[5])}
	}
	return c, nil
}

// Hits returns how many files were answered from the cache.
func (c *Cache) Hits() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits
}

func (c *Cache) lookup(k cacheKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cacheID{k.dev, k.ino}]
	if !ok || e.size != k.size || e.mtime != k.mtime || e.ctime != k.ctime {
		return "", false
	}
	c.hits++
	return e.sum, true
}

func (c *Cache) store(k cacheKey, sum string) {
	margin := cacheMargin.Nanoseconds()
	if k.openedAt-k.mtime < margin || k.openedAt-k.ctime < margin {
		return // racily clean: a change in the same tick would go unseen
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[cacheID{k.dev, k.ino}] = cacheEntry{k.size, k.mtime, k.ctime, sum}
	c.dirty = true
}

// Save writes the cache back if anything was added, atomically (synced
// temporary file renamed over it).
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	err := fsutil.WriteAtomic(c.path, 0o600, func(w io.Writer) error {
		if _, err := io.WriteString(w, cacheHeader+"\n"); err != nil {
			return err
		}
		var b []byte
		for id, e := range c.entries {
			b = b[:0]
			b = strconv.AppendUint(b, id.dev, 10)
			b = append(b, ' ')
			b = strconv.AppendUint(b, id.ino, 10)
			for _, v := range []int64{e.size, e.mtime, e.ctime} {
				b = append(b, ' ')
				b = strconv.AppendInt(b, v, 10)
			}
			b = append(b, ' ')
			b = append(b, e.sum...)
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("digest: hash cache: %w", err)
	}
	c.dirty = false
	return nil
}

// WithCache reuses and records digests in c (see Cache for the trust
// trade-off). The caller saves c.
func WithCache(c *Cache) Option { return func(o *options) { o.cache = c } }

// WithHashCache is WithCache with the cache in dir, loaded before and saved
// after each call of Paths.
func WithHashCache(dir string) Option { return func(o *options) { o.cacheDir = dir } }
