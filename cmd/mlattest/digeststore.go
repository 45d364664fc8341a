package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/store"
)

// storeArg returns the one storage location among args ("" when none),
// or a usage error when a location is mixed with other PATHs or with
// flags that only mean something for a local tree.
func storeArg(cmd *cobra.Command, args []string) (string, error) {
	loc := ""
	for _, a := range args {
		if store.IsURL(a) {
			loc = a
		}
	}
	if loc == "" {
		return "", nil
	}
	if len(args) > 1 {
		return "", fmt.Errorf("digest: %s: a storage location must be the only PATH", loc)
	}
	for _, f := range []string{"root", "follow-symlinks", "hash-cache"} {
		if cmd.Flags().Changed(f) {
			return "", fmt.Errorf("digest: --%s does not apply to a storage location (%s)", f, loc)
		}
	}
	return loc, nil
}

// digestStore digests every object below a location: names relative to
// the location, as `mlattest digest .` names a directory's files from
// inside it. file:// is the local walk itself.
func digestStore(ctx context.Context, raw string, opts []digest.Option) ([]digest.Artifact, error) {
	loc, err := store.ParseLocation(raw)
	if err != nil {
		return nil, usage(err)
	}
	if loc.Scheme == "file" {
		dir := filepath.FromSlash(loc.Prefix)
		arts, err := digest.Paths(ctx, dir, []string{dir}, opts...)
		return arts, withCode(exitUsage, symlinkHint(err))
	}
	b, err := store.Open(ctx, raw)
	if err != nil {
		if errors.Is(err, store.ErrUnsupported) {
			return nil, usage(err)
		}
		return nil, withCode(exitUsage, err)
	}
	arts, err := digest.FromSource(ctx, store.NewSource(b), opts...)
	if err != nil && !strings.Contains(err.Error(), b.Location()) {
		// store's own errors name the location; a refused name does not.
		err = fmt.Errorf("%s: %w", b.Location(), err)
	}
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return arts, nil
}

// digestStoreSharded is digestStore for a sharded manifest (shardSize
// bytes per range).
func digestStoreSharded(ctx context.Context, raw string, shardSize int64, opts []digest.Option) ([]digest.Shard, error) {
	loc, err := store.ParseLocation(raw)
	if err != nil {
		return nil, usage(err)
	}
	if loc.Scheme == "file" {
		dir := filepath.FromSlash(loc.Prefix)
		shards, err := digest.ShardedPaths(ctx, dir, []string{dir}, shardSize, opts...)
		return shards, withCode(exitUsage, symlinkHint(err))
	}
	b, err := store.Open(ctx, raw)
	if err != nil {
		if errors.Is(err, store.ErrUnsupported) {
			return nil, usage(err)
		}
		return nil, withCode(exitUsage, err)
	}
	shards, err := digest.ShardedSource(ctx, store.NewSource(b), shardSize, opts...)
	if err != nil && !strings.Contains(err.Error(), b.Location()) {
		err = fmt.Errorf("%s: %w", b.Location(), err)
	}
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return shards, nil
}

// shardSpec is which shard of how many this worker computes.
type shardSpec struct{ i, n int }

// parseShard reads --shard i/N, or a Kubernetes Indexed Job's
// JOB_COMPLETION_INDEX and JOB_COMPLETIONS when --shard is not given;
// both given must agree. ok is false when neither says anything.
func parseShard(flag string, getenv func(string) string) (s shardSpec, ok bool, err error) {
	envI, envN := getenv("JOB_COMPLETION_INDEX"), getenv("JOB_COMPLETIONS")
	var fromEnv shardSpec
	haveEnv := envI != ""
	if haveEnv {
		if envN == "" {
			return s, false, errors.New("JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not (an Indexed Job sets both)")
		}
		if fromEnv, err = shardNumbers(envI, envN); err != nil {
			return s, false, fmt.Errorf("JOB_COMPLETION_INDEX=%s JOB_COMPLETIONS=%s: %w", envI, envN, err)
		}
	}
	if flag == "" {
		return fromEnv, haveEnv, nil
	}
	is, ns, found := strings.Cut(flag, "/")
	if !found {
		return s, false, fmt.Errorf("--shard %q: want i/N, e.g. 0/4", flag)
	}
	if s, err = shardNumbers(is, ns); err != nil {
		return s, false, fmt.Errorf("--shard %q: %w", flag, err)
	}
	if haveEnv && s != fromEnv {
		return s, false, fmt.Errorf("--shard %s disagrees with JOB_COMPLETION_INDEX=%s JOB_COMPLETIONS=%s", flag, envI, envN)
	}
	return s, true, nil
}

func shardNumbers(is, ns string) (shardSpec, error) {
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return shardSpec{}, fmt.Errorf("want 0 <= i < N, N >= 1")
	}
	return shardSpec{i, n}, nil
}

// digestShard lists the location, hashes this worker's shard (whole
// files, or with shardSize > 0 ranges of that size) and writes its part
// under partOut.
func digestShard(ctx context.Context, stderr io.Writer, raw, partOut string, sh shardSpec, shardSize int64, opts []digest.Option) error {
	b, err := store.Open(ctx, raw)
	if err != nil {
		if errors.Is(err, store.ErrUnsupported) || errors.Is(err, store.ErrBadLocation) {
			return usage(err)
		}
		return withCode(exitUsage, err)
	}
	pb, err := store.OpenParts(ctx, partOut, true)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("digest: --part-out: %w", err))
	}
	src := store.NewSource(b)
	l, err := src.Listing(ctx, opts...)
	if err != nil {
		return withCode(exitUsage, err)
	}
	var p *store.Part
	if shardSize > 0 {
		p, err = src.DigestRanges(ctx, l, shardSize, sh.i, sh.n, opts...)
	} else {
		p, err = src.DigestShard(ctx, l, sh.i, sh.n, opts...)
	}
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := store.WritePart(ctx, pb, p); err != nil {
		return withCode(exitUsage, err)
	}
	var bytes int64
	for _, a := range p.Artifacts {
		bytes += a.Size
	}
	what := fmt.Sprintf("%d of %d files", len(p.Artifacts), p.Files)
	if shardSize > 0 {
		for _, r := range p.Ranges {
			bytes += r.End - r.Start
		}
		what = fmt.Sprintf("%d ranges of %d bytes in a %d-file listing", len(p.Ranges), shardSize, p.Files)
	}
	fmt.Fprintf(stderr, "digest: part %d of %d: %s, %d bytes, listing %s -> %s%s\n",
		sh.i, sh.n, what, bytes, p.Listing, pb.Location(), store.PartName(sh.i, sh.n))
	return nil
}
