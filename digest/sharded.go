package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// Sharded manifests (OpenSSF model-signing's "sha256-sharded-N" scheme).
//
// SHA-256 of one file is sequential, so one file's digest is bounded by one
// core. A user who wants a huge single file verified on several cores can
// record a sharded manifest instead: the file is cut into consecutive byte
// ranges of N bytes (the last one shorter; an empty file is one empty range
// [0, 0)), each range is hashed on its own, in parallel, and each is named
// "NAME:START:END" (END exclusive), as in OpenSSF model signing. The shards of
// a tree are ordered by file name, then by START; the manifest's digest is
// the SHA-256 of the concatenated raw 32-byte shard digests in that order.
// This is in addition to, never instead of, the whole-file SHA-256 that
// mlattest attests: the two answer different questions.

// DefaultShardSize is the shard size of OpenSSF model signing (1 GB).
const DefaultShardSize = 1_000_000_000

// Shard is one byte range [Start, End) of the file Name.
type Shard struct {
	Name   string `json:"name"`
	Start  int64  `json:"start"`
	End    int64  `json:"end"`
	SHA256 string `json:"sha256"`
}

// ID is the shard's name in the model-signing scheme: "NAME:START:END".
func (s Shard) ID() string {
	return s.Name + ":" + strconv.FormatInt(s.Start, 10) + ":" + strconv.FormatInt(s.End, 10)
}

// ShardAlgorithm names the scheme for a shard size: "sha256-sharded-N".
func ShardAlgorithm(size int64) string { return "sha256-sharded-" + strconv.FormatInt(size, 10) }

// ShardedManifestDigest is the lowercase hex SHA-256 over the raw digests of
// shards, in the given order (ShardedPaths returns them in manifest order).
func ShardedManifestDigest(shards []Shard) (string, error) {
	h := sha256.New()
	for _, s := range shards {
		raw, err := hex.DecodeString(s.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return "", fmt.Errorf("digest: shard %s: bad sha256 %q", s.ID(), s.SHA256)
		}
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ShardedPaths walks paths as Paths does and hashes every file in shards of
// shardSize bytes, all shards of all files in parallel (WithWorkers). A file
// whose size changes while it is hashed is an error naming it.
func ShardedPaths(ctx context.Context, root string, paths []string, shardSize int64, opts ...Option) ([]Shard, error) {
	if shardSize < 1 {
		return nil, fmt.Errorf("digest: shard size %d must be positive", shardSize)
	}
	o, ign, err := walkOptions(opts)
	if err != nil {
		return nil, err
	}
	files, err := walkAll(ctx, root, paths, o.symlinks, ign)
	if err != nil {
		return nil, err
	}

	type fileShard struct {
		file  *job
		shard Shard
	}
	var jobs []fileShard
	for i := range files {
		f := &files[i]
		if f.size < 0 {
			return nil, &PathError{Path: f.name, Err: errors.New("size unknown")}
		}
		for _, r := range ShardRanges(f.size, shardSize) {
			jobs = append(jobs, fileShard{file: f, shard: Shard{Name: f.name, Start: r[0], End: r[1]}})
		}
	}
	shards := make([]Shard, len(jobs))
	for i, j := range jobs {
		shards[i] = j.shard
	}
	err = hashShards(ctx, shards, o.workers, func(ctx context.Context, i int) (string, error) {
		j := jobs[i]
		sum, err := hashRange(ctx, j.file.path, j.file.size, j.shard.Start, j.shard.End)
		if err != nil {
			return "", pathErr(j.file.name, err)
		}
		return sum, nil
	})
	if err != nil {
		return nil, err
	}
	return shards, nil
}

// ShardRanges returns the ranges [start, end) a file of size bytes is cut
// into at shardSize (> 0): consecutive, the last one shorter, an empty
// file one empty range [0, 0).
func ShardRanges(size, shardSize int64) [][2]int64 {
	out := make([][2]int64, 0, max(1, (size+shardSize-1)/shardSize))
	for start := int64(0); ; {
		end := start + min(shardSize, size-start)
		out = append(out, [2]int64{start, end})
		if start = end; start >= size {
			return out
		}
	}
}

// hashShards sets the SHA256 of every shard to hash(i), workers at a
// time. The first error cancels the rest and is returned (the one of the
// lowest index among those that failed, so that a rerun names the same).
func hashShards(parent context.Context, shards []Shard, workers int, hash func(ctx context.Context, i int) (string, error)) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	errs := make([]error, len(shards))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, len(shards))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := ctx.Err(); err != nil {
					errs[i] = err
					continue
				}
				sum, err := hash(ctx, i)
				if err != nil {
					errs[i] = err
					cancel()
					continue
				}
				shards[i].SHA256 = sum
			}
		}()
	}
feed:
	for i := range shards {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := parent.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// hashRange hashes bytes [start, end) of the file at p, which must still be
// size bytes long.
func hashRange(ctx context.Context, p string, size, start, end int64) (string, error) {
	f, err := fsutil.OpenNonBlocking(p, true)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s", ErrSpecialFile, KindName(fi.Mode()))
	}
	if fi.Size() != size {
		return "", fmt.Errorf("file changed while hashing: size %d, was %d", fi.Size(), size)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	h := sha256.New()
	for off := start; off < end; {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		h.Write(buf[:n])
		off += int64(n)
		if errors.Is(err, io.EOF) && off < end {
			return "", fmt.Errorf("file changed while hashing: ends at %d, was %d bytes", off, size)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
