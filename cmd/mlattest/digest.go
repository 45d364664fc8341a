package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/digest"
)

func newDigestCmd() *cobra.Command {
	var (
		jsonOut   bool
		root      string
		follow    bool
		ignore    []string
		workers   int
		sharded   string
		hashCache string
		shard     string
		partOut   string
	)
	cmd := &cobra.Command{
		Use:   "digest [flags] PATH...",
		Short: "Print SHA-256 digests of files and trees",
		Long: `Print the SHA-256 digest of every regular file at or below each PATH, the way
mlattest records materials and products.

Output is sorted by name, one line per file, in sha256sum's format
("HEX  NAME"), so "sha256sum -c" accepts it when run from the root directory.
Names are slash-separated and relative to --root (default: the current
directory); PATH arguments are relative to the current directory. With --root
every PATH must lie inside it; without --root a PATH outside the current
directory (/data/big.bin, ../shared) names its files as given, as sha256sum
does, so "sha256sum -c" accepts the output from the same directory. A name containing a backslash, newline or carriage return is
written as GNU coreutils does: the line starts with a backslash and those
characters appear as \\, \n and \r. A file named twice (e.g. "data" and
"data/a.bin") is listed once.

Directories are walked; entries matching an --ignore pattern are skipped
(a file or directory named explicitly as a PATH is always hashed):
  NAME/     a directory named NAME at any depth, with everything below it
  GLOB      a file or directory whose base name matches GLOB (path.Match)
  DIR/GLOB  a pattern with a slash matches the full relative name
Giving --ignore replaces the default (.git/ and **/.cache/huggingface/, a local download's metadata); repeat it for several patterns.

Symbolic links are refused unless --follow-symlinks is given; even then a
link is followed only if it stays inside the root at every step (chains and
".." included). Devices, sockets and FIFOs are refused, and so are names
that are not valid UTF-8, since names go into JSON attestations.

A PATH may instead be one storage location, s3://BUCKET/PREFIX,
gs://BUCKET/PREFIX or file:///DIR: every object below it is read and hashed,
each named relative to the prefix (as "mlattest digest ." names a
directory's files from inside it), with the same ignore patterns and output, so a prefix and a directory
holding the same files print the same lines. Keys no directory could hold
("a/../b", "a//b", a key that is also a "directory") are refused. Credentials
and the endpoint come from the AWS SDK's standard chains (AWS_PROFILE,
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, instance roles;
AWS_ENDPOINT_URL_S3 for an S3-compatible server) and for gs:// from Google
Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud,
Workload Identity), never from flags; --root, --follow-symlinks and
--hash-cache do not apply.

--shard i/N --part-out PREFIX splits the digest of a storage location over N
workers that never talk to each other (in a Kubernetes Indexed Job, i and N
are read from JOB_COMPLETION_INDEX and JOB_COMPLETIONS). Every worker lists
the whole location, assigns its files to N shards by size (largest first to
the least loaded: the same plan everywhere), hashes shard i and writes
PREFIX/part-iiiii-of-NNNNN.json, which carries the digest of the listing it
worked from; a rerun writes the same part. "mlattest merge PREFIX" then
prints exactly what one "mlattest digest LOCATION" prints. A whole-file
digest never splits a file between workers: one file's SHA-256 is
sequential, so one worker hashes it. With --sharded SIZE the unit of work
is the SIZE-byte range instead: every object is cut into its ranges, the
ranges are assigned the same way (so one huge object is spread over all
workers), and merge prints what "mlattest digest --sharded SIZE LOCATION"
prints.

A progress bar is drawn on stderr when it is a terminal and the files total
more than 256 MiB.

--sharded SIZE prints an OpenSSF model-signing "sha256-sharded-SIZE" manifest
instead: every file cut into SIZE-byte ranges hashed in parallel, one line
"HEX  NAME:START:END" per range (JSON: name, start, end, sha256), then, on
stderr, the manifest digest (SHA-256 over the raw range digests in order); with --json
the last line is {"algorithm":…,"manifest":"sha256:…","shards":N} instead.
SIZE is bytes, or a number with kB, MB, GB (powers of 1000) or KiB, MiB,
GiB (powers of 1024). It lets a huge single file be verified on several
cores; the digest mlattest attests is still the whole-file SHA-256.

--hash-cache DIR reuses the digest of a file whose (device, inode, size,
mtime, ctime) have not changed since it was hashed, and records new ones in
DIR. This is a trust trade-off: whoever can write DIR, or change a file's
bytes without changing its ctime, decides the printed digest. Verification
never uses it.

Exit status: 0 when every file was hashed; 2 for a usage error or any file
that could not be read or is refused (nothing is printed then).`,
		Example: `  # Digest a model directory, then check it later with coreutils
  mlattest digest model/ > model.sha256
  sha256sum -c model.sha256

  # Several inputs, as JSON lines for scripts
  mlattest digest --json data/train.jsonl configs/ model/
  # {"name":"configs/train.yaml","sha256":"…","size":812}

  # Names relative to another directory, skipping caches and temp files
  mlattest digest --root out --ignore .git/ --ignore __pycache__/ --ignore '*.tmp' out/model

  # Allow symbolic links that stay inside the root
  mlattest digest --follow-symlinks checkpoints/

  # Every object below an S3 prefix (or an S3-compatible server's)
  AWS_PROFILE=training mlattest digest s3://datasets/mix-2026-11/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("workers") && workers < 1 {
				return usage(fmt.Errorf("digest: --workers %d: want at least 1", workers))
			}
			loc, err := storeArg(cmd, args)
			if err != nil {
				return usage(err)
			}
			cwd, err := os.Getwd()
			if err != nil {
				return withCode(exitUsage, err)
			}
			groups, err := digestGroups(cwd, root, args)
			if err != nil {
				return usage(err)
			}
			// The result list of a large tree is most of the heap and
			// lives to the end: collecting it four times less often saves
			// ~7% of the CPU on 200k small files, for ~25% more peak memory.
			debug.SetGCPercent(400)
			policy := digest.SymlinksReject
			if follow {
				policy = digest.SymlinksFollowInside
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			opts := []digest.Option{
				digest.WithIgnore(ignore...),
				digest.WithSymlinks(policy),
				digest.WithWorkers(workers),
				digest.WithProgress(cmd.ErrOrStderr()),
			}
			var (
				sh        shardSpec
				sharding  bool
				shardSize int64
			)
			if sharded != "" {
				if shardSize, err = parseSize(sharded); err != nil {
					return usage(fmt.Errorf("digest: --sharded: %w", err))
				}
			}
			if shard != "" || partOut != "" {
				// The Indexed Job's variables count only for a sharded
				// digest: a pod may digest other things too.
				if sh, sharding, err = parseShard(shard, os.Getenv); err != nil {
					return usage(fmt.Errorf("digest: %w", err))
				}
			}
			switch {
			case sharding && partOut == "":
				return usage(errors.New("digest: --shard needs --part-out PREFIX"))
			case partOut != "" && !sharding:
				return usage(errors.New("digest: --part-out needs --shard i/N (or JOB_COMPLETION_INDEX and JOB_COMPLETIONS)"))
			case sharding && loc == "":
				return usage(errors.New("digest: --shard works on one storage location (s3://BUCKET/PREFIX or file:///DIR)"))
			case sharding:
				return digestShard(ctx, cmd.ErrOrStderr(), loc, partOut, sh, shardSize, opts)
			}
			if loc != "" && shardSize > 0 {
				shards, err := digestStoreSharded(ctx, loc, shardSize, opts)
				if err != nil {
					return err
				}
				if err := writeShards(cmd.OutOrStdout(), cmd.ErrOrStderr(), shards, shardSize, jsonOut); err != nil {
					return withCode(exitUsage, fmt.Errorf("digest: writing output: %w", err))
				}
				return nil
			}
			if loc != "" {
				arts, err := digestStore(ctx, loc, opts)
				if err != nil {
					return err
				}
				if err := writeDigests(cmd.OutOrStdout(), arts, jsonOut); err != nil {
					return withCode(exitUsage, fmt.Errorf("digest: writing output: %w", err))
				}
				return nil
			}
			if shardSize > 0 {
				shards, err := shardGroups(ctx, groups, shardSize, opts)
				if err != nil {
					return withCode(exitUsage, symlinkHint(err))
				}
				if err := writeShards(cmd.OutOrStdout(), cmd.ErrOrStderr(), shards, shardSize, jsonOut); err != nil {
					return withCode(exitUsage, fmt.Errorf("digest: writing output: %w", err))
				}
				return nil
			}
			if hashCache != "" {
				opts = append(opts, digest.WithHashCache(hashCache))
			}
			arts, err := digestPathGroups(ctx, groups, opts)
			if err != nil {
				return withCode(exitUsage, symlinkHint(err))
			}
			if err := writeDigests(cmd.OutOrStdout(), arts, jsonOut); err != nil {
				return withCode(exitUsage, fmt.Errorf("digest: writing output: %w", err))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&jsonOut, "json", false, `print one JSON object per line: {"name":…,"sha256":…,"size":…}`)
	f.StringVar(&root, "root", "", "directory that names are relative to and PATHs must lie in (default: current directory)")
	f.BoolVar(&follow, "follow-symlinks", false, "follow symbolic links that stay inside the root")
	f.StringArrayVar(&ignore, "ignore", digest.DefaultIgnore(), "skip entries matching `PATTERN` while walking (repeatable; replaces the default)")
	f.IntVar(&workers, "workers", 0, "files hashed at once, at least 1 (default: number of CPUs)")
	f.StringVar(&sharded, "sharded", "", "print a sha256-sharded-`SIZE` manifest (OpenSSF model signing), e.g. 1GB")
	f.StringVar(&shard, "shard", "", "compute shard `i/N` of a storage location only (default: JOB_COMPLETION_INDEX/JOB_COMPLETIONS when set)")
	f.StringVar(&partOut, "part-out", "", "with --shard: write this worker's part under `PREFIX` (a directory or s3://BUCKET/PREFIX) for mlattest merge")
	f.StringVar(&hashCache, "hash-cache", "", "reuse digests of unchanged files recorded in `DIR` (a trust trade-off; see above)")
	return cmd
}

// writeShards prints a sharded manifest as sha256sum-style lines (or JSON
// lines) on w and its digest on info.
func writeShards(w, info io.Writer, shards []digest.Shard, size int64, jsonOut bool) error {
	bw := bufio.NewWriter(w)
	alg := digest.ShardAlgorithm(size)
	md, err := digest.ShardedManifestDigest(shards)
	if err != nil {
		return err
	}
	for _, s := range shards {
		if jsonOut {
			b, err := json.Marshal(struct {
				digest.Shard
				Algorithm string `json:"algorithm"`
			}{s, alg})
			if err != nil {
				return err
			}
			bw.Write(append(b, '\n'))
			continue
		}
		bw.WriteString(sumLine(digest.Artifact{Name: s.ID(), SHA256: s.SHA256}))
	}
	if jsonOut {
		b, err := json.Marshal(struct {
			Algorithm string `json:"algorithm"`
			Manifest  string `json:"manifest"`
			Shards    int    `json:"shards"`
		}{alg, "sha256:" + md, len(shards)})
		if err != nil {
			return err
		}
		bw.Write(append(b, '\n'))
		return bw.Flush()
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(info, "%s manifest of %d shards: sha256:%s\n", alg, len(shards), md)
	return err
}

// digestGroup is one call of the digest library: paths under root, their
// names prefixed with prefix (a PATH outside the current directory keeps
// the name the user gave it).
type digestGroup struct {
	root, prefix string
	paths        []string
}

// digestGroups plans the calls for PATH arguments typed relative to cwd.
// With --root (root != "") there is one, and a PATH outside it is the
// library's error; without, PATHs inside cwd share one call rooted there
// and each other PATH gets its own, rooted at itself (a directory) or its
// directory (a file), so that symlinks stay confined to what was named.
func digestGroups(cwd, root string, args []string) ([]digestGroup, error) {
	abs := func(a string) string {
		if filepath.IsAbs(a) {
			return a
		}
		return filepath.Join(cwd, a)
	}
	for _, a := range args {
		if a == "" {
			return nil, fmt.Errorf("digest: empty PATH")
		}
	}
	if root != "" {
		g := digestGroup{root: root}
		for _, a := range args {
			g.paths = append(g.paths, abs(a))
		}
		return []digestGroup{g}, nil
	}
	inside := digestGroup{root: cwd}
	var groups []digestGroup
	for _, a := range args {
		p := abs(a)
		if rel, err := filepath.Rel(cwd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			inside.paths = append(inside.paths, p)
			continue
		}
		given := filepath.Clean(a)
		g := digestGroup{root: p, prefix: filepath.ToSlash(given), paths: []string{p}}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			// A file (or a missing path: the library names the error).
			g.root, g.prefix = filepath.Dir(p), filepath.ToSlash(filepath.Dir(given))
		}
		groups = append(groups, g)
	}
	if len(inside.paths) > 0 {
		groups = append([]digestGroup{inside}, groups...)
	}
	return groups, nil
}

// name maps a name relative to g.root to the name printed.
func (g digestGroup) name(n string) string {
	if g.prefix == "" {
		return n
	}
	return path.Join(g.prefix, n)
}

// renameErr names a file of a digest error as the user typed it.
func (g digestGroup) renameErr(err error) error {
	var pe *digest.PathError
	if g.prefix != "" && errors.As(err, &pe) && !filepath.IsAbs(pe.Path) {
		return &digest.PathError{Path: g.name(pe.Path), Err: pe.Err}
	}
	return err
}

func digestPathGroups(ctx context.Context, groups []digestGroup, opts []digest.Option) ([]digest.Artifact, error) {
	if len(groups) == 1 && groups[0].prefix == "" {
		return digest.Paths(ctx, groups[0].root, groups[0].paths, opts...)
	}
	var all []digest.Artifact
	for _, g := range groups {
		arts, err := digest.Paths(ctx, g.root, g.paths, opts...)
		if err != nil {
			return nil, g.renameErr(err)
		}
		for _, a := range arts {
			a.Name = g.name(a.Name)
			all = append(all, a)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return slices.CompactFunc(all, func(a, b digest.Artifact) bool { return a.Name == b.Name }), nil
}

func shardGroups(ctx context.Context, groups []digestGroup, size int64, opts []digest.Option) ([]digest.Shard, error) {
	if len(groups) == 1 && groups[0].prefix == "" {
		return digest.ShardedPaths(ctx, groups[0].root, groups[0].paths, size, opts...)
	}
	var all []digest.Shard
	for _, g := range groups {
		shards, err := digest.ShardedPaths(ctx, g.root, g.paths, size, opts...)
		if err != nil {
			return nil, g.renameErr(err)
		}
		for _, s := range shards {
			s.Name = g.name(s.Name)
			all = append(all, s)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return slices.CompactFunc(all, func(a, b digest.Shard) bool { return a.Name == b.Name && a.Start == b.Start }), nil
}

// parseSize reads "1000000000", "1GB", "512MiB" and the like.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 1000000000, 1GB or 512MiB)", s)
	}
	return n * mult, nil
}

// writeDigests prints arts as sha256sum lines or JSON lines.
func writeDigests(w io.Writer, arts []digest.Artifact, jsonOut bool) error {
	bw := bufio.NewWriter(w)
	if jsonOut {
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, a := range arts {
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
	} else {
		for _, a := range arts {
			bw.WriteString(sumLine(a))
		}
	}
	return bw.Flush()
}

// sumLine formats a as sha256sum does, escaping names as GNU coreutils 9
// does so that "sha256sum -c" reads back the exact name.
func sumLine(a digest.Artifact) string {
	name := a.Name
	prefix := ""
	if strings.ContainsAny(name, "\\\n\r") {
		prefix = `\`
		name = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(name)
	}
	return prefix + a.SHA256 + "  " + name + "\n"
}

// symlinkHint names the flag that follows a symbolic link the walk refused
// (digest, scan model: one walker, one hint).
func symlinkHint(err error) error {
	if errors.Is(err, digest.ErrSymlink) {
		return fmt.Errorf("%w (pass --follow-symlinks to follow links that stay inside the working directory)", err)
	}
	return err
}
