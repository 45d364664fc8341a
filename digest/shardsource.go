package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// RangeSource is a Source that also reads byte ranges of its files, so
// that a sharded manifest of it can be computed range by range, and its
// ranges spread over workers (package store's Source is one).
type RangeSource interface {
	Source
	// ReadRangeTo writes the bytes [start, end) of the listed file name to
	// w in order and returns how many it wrote.
	ReadRangeTo(ctx context.Context, name string, start, end int64, w io.Writer) (int64, error)
}

// SourceShards cuts files (sorted by name, as ListSource returns them) at
// shardSize bytes: the shards of a sharded manifest in manifest order,
// digests not yet set. For each shard, file gives the index of its file.
func SourceShards(files []SourceFile, shardSize int64) (shards []Shard, file []int, err error) {
	if shardSize < 1 {
		return nil, nil, fmt.Errorf("digest: shard size %d must be positive", shardSize)
	}
	for i, f := range files {
		if i > 0 && f.Name <= files[i-1].Name {
			return nil, nil, &PathError{Path: f.Name, Err: fmt.Errorf("%w: %q after %q", ErrUnsorted, f.Name, files[i-1].Name)}
		}
		if f.Size < 0 {
			return nil, nil, &PathError{Path: f.Name, Err: fmt.Errorf("negative size %d", f.Size)}
		}
		for _, r := range ShardRanges(f.Size, shardSize) {
			shards = append(shards, Shard{Name: f.Name, Start: r[0], End: r[1]})
			file = append(file, i)
		}
	}
	return shards, file, nil
}

// HashSourceShards reads every shard's range from src and sets its
// SHA256, WithWorkers (default 8 × GOMAXPROCS) ranges at a time. A range
// that reads short is an ErrChanged error naming its file.
func HashSourceShards(ctx context.Context, src RangeSource, shards []Shard, opts ...Option) error {
	o := buildOptionsWorkers(opts, sourceWorkers())
	return hashShards(ctx, shards, o.workers, func(ctx context.Context, i int) (string, error) {
		s := shards[i]
		h := sha256.New()
		n, err := src.ReadRangeTo(ctx, s.Name, s.Start, s.End, h)
		if err == nil && n != s.End-s.Start {
			err = fmt.Errorf("%w: range %d-%d read %d bytes", ErrChanged, s.Start, s.End, n)
		}
		if err != nil {
			return "", &PathError{Path: s.Name, Err: err}
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
}

// ShardedSource is ShardedPaths for a Source: every file src lists (same
// checks and ignore patterns as FromSource) cut at shardSize bytes and
// every range hashed, in manifest order.
func ShardedSource(ctx context.Context, src RangeSource, shardSize int64, opts ...Option) ([]Shard, error) {
	if shardSize < 1 {
		return nil, fmt.Errorf("digest: shard size %d must be positive", shardSize)
	}
	files, err := ListSource(ctx, src, opts...)
	if err != nil {
		return nil, err
	}
	shards, _, err := SourceShards(files, shardSize)
	if err != nil {
		return nil, err
	}
	if err := HashSourceShards(ctx, src, shards, opts...); err != nil {
		return nil, err
	}
	return shards, nil
}
