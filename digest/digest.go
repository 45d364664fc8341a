// Package digest hashes files and directory trees with SHA-256: streaming,
// parallel across files, with deterministic slash-separated names relative to
// a root, a documented symlink policy and ignore patterns.
//
// # Names
//
// Every Artifact is named by its slash-separated path relative to the root
// given to Paths, after lexical cleaning ("a/./b/../c" is "a/c"). A path
// argument that cleans to somewhere outside the root is an ErrOutsideRoot
// error. Results are sorted by Name and a file reached twice under the same
// name (for example through the overlapping arguments "data" and
// "data/x.bin") appears once. A name that is not valid UTF-8 is an
// ErrBadName error: names end up in JSON attestations, where they could
// not be represented exactly.
//
// # Symbolic links
//
// A link is never followed out of the root. Under SymlinksReject (the
// default) any symbolic link met, whether named as an argument, as a
// directory on the way to an argument, or found while walking, is an
// ErrSymlink error. Under SymlinksFollowInside a link is followed only if
// every step of its resolution stays inside the root: each hop of a chain of
// links and each ".." in a target is checked, so a chain that leaves the root
// and comes back is still an ErrSymlinkEscapes error (what is outside the
// root can change under us). More than 40 hops, or a link to a directory
// that is already being walked (a cycle), is an ErrSymlinkLoop error. A
// followed file keeps the name of the link, not of its target. The root
// itself may be reached through symbolic links: it is resolved once, first.
//
// # Ignore patterns
//
// Ignore patterns skip entries found while walking a directory; a path named
// explicitly in the paths argument is always hashed. The default is ".git/" and
// "**/.cache/huggingface/" (huggingface_hub's metadata in a local download).
//   - A pattern ending in "/" matches only directories, and the directory's
//     whole subtree is skipped.
//   - The rest of the pattern is a path.Match glob. Without a "/" it is
//     matched against the entry's base name, at any depth ("*.tmp",
//     "__pycache__/"); with a "/" it is matched against the full relative
//     name ("data/*.tmp", "out/cache/"), where "*" does not cross "/". A
//     leading "/" is allowed and changes nothing: full names never start
//     with one.
//   - A pattern starting with "**/" is matched against the entry's last
//     components at any depth ("**/.cache/huggingface/").
//   - A symbolic link is matched both as a file and as a directory, since
//     the decision is made before looking at its target: an ignored link is
//     never followed, so it is never an error either.
//
// A malformed pattern is an error wrapping path.ErrBadPattern.
//
// # Special files and reading
//
// Only regular files are hashed: devices, sockets and FIFOs are ErrSpecialFile
// errors naming the file, and files are opened without blocking and checked
// again after opening, so a FIFO swapped in after the walk cannot hang a run.
// Files are read with pread into pooled 512 KiB buffers, not mapped into
// memory: a file truncated while mapped would crash the process, and mapped
// pages count as the process's resident memory.
// Errors name the file and wrap the cause with %w, so os errors remain
// testable with errors.Is(err, fs.ErrNotExist) and friends.
//
// # Performance
//
// The digest of a file is its plain SHA-256 (what sha256sum, OCI and cosign
// use), which is sequential: one file is hashed by one core. A file larger
// than one buffer is read ahead: a second goroutine preads the next 512 KiB
// into the second of two pooled buffers while the first is hashed, so the
// copy out of the page cache (or the wait for the disk) overlaps hashing and
// memory stays two buffers per worker whatever the file size. Small files
// (the bulk of a dataset) take a path of raw system calls on Linux: open,
// fstat, one pread, close. Several files are hashed at once by a bounded
// pool of WithWorkers goroutines fed by the walker while it walks; results
// are sorted once at the end. Errors stay deterministic: a walk error (the
// walk itself is sequential) wins, otherwise the failure of the first file
// by name.
//
// ShardedPaths offers OpenSSF model signing's sha256-sharded-N manifests,
// computed in parallel, for users who want one huge file verified on
// several cores; WithHashCache / WithCache reuse digests of unchanged files
// (a documented trust trade-off, see Cache).
package digest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/mlattest/mlattest/internal/progress"
)

// Artifact is one hashed regular file.
type Artifact struct {
	// Name is the slash-separated path relative to the root passed to Paths.
	Name string `json:"name"`
	// SHA256 is the lowercase hex SHA-256 of the file's bytes.
	SHA256 string `json:"sha256"`
	// Size is the number of bytes hashed.
	Size int64 `json:"size"`
}

// SymlinkPolicy says what to do with symbolic links met while walking.
type SymlinkPolicy int

const (
	// SymlinksReject makes any symbolic link an error (the default).
	SymlinksReject SymlinkPolicy = iota
	// SymlinksFollowInside follows links whose resolved target stays inside
	// the root; a link out of the root is still an error.
	SymlinksFollowInside
)

// String returns the policy's name, for messages.
func (p SymlinkPolicy) String() string {
	switch p {
	case SymlinksReject:
		return "reject"
	case SymlinksFollowInside:
		return "follow-inside"
	}
	return fmt.Sprintf("SymlinkPolicy(%d)", int(p))
}

// DefaultIgnore returns the ignore patterns used when WithIgnore is not
// given (a new slice each time: callers may append to it): version control
// and the download metadata huggingface_hub keeps in a local directory
// (.cache/huggingface/ at any depth), which no loader reads.
func DefaultIgnore() []string { return []string{".git/", "**/.cache/huggingface/"} }

// ProgressThreshold is the total size from which WithProgress draws a bar:
// below it hashing is over before a bar would tell anything.
const ProgressThreshold = progress.MinTotal

// Option configures Paths and File.
type Option func(*options)

type options struct {
	workers   int
	ignore    []string
	ignoreSet bool
	symlinks  SymlinkPolicy
	progress  io.Writer
	cacheDir  string
	cache     *Cache
	// source, when set, is where jobs are read from (FromSource).
	source Source
	// isTerminal and progressMin decide whether to draw; tests replace them.
	isTerminal  func(io.Writer) bool
	progressMin int64
}

// WithWorkers sets the number of files hashed at once (default: GOMAXPROCS).
// Values below 1 mean the default.
func WithWorkers(n int) Option { return func(o *options) { o.workers = n } }

// WithIgnore replaces the ignore patterns (default ".git/"). WithIgnore()
// with no patterns ignores nothing.
func WithIgnore(patterns ...string) Option {
	return func(o *options) {
		o.ignore = append([]string(nil), patterns...)
		o.ignoreSet = true
	}
}

// WithSymlinks sets the symlink policy.
func WithSymlinks(p SymlinkPolicy) Option { return func(o *options) { o.symlinks = p } }

// WithProgress draws a progress bar on w when w is a terminal and the work is large.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

func buildOptions(opts []Option) options {
	return buildOptionsWorkers(opts, runtime.GOMAXPROCS(0))
}

// buildOptionsWorkers is buildOptions with workers as the default of
// WithWorkers.
func buildOptionsWorkers(opts []Option, workers int) options {
	o := options{isTerminal: isTerminal, progressMin: ProgressThreshold}
	for _, opt := range opts {
		opt(&o)
	}
	if o.workers < 1 {
		o.workers = workers
	}
	if !o.ignoreSet {
		o.ignore = DefaultIgnore()
	}
	return o
}

// walkOptions builds the options of a walk and checks them: a known symlink
// policy and ignore patterns that compile.
func walkOptions(opts []Option) (options, ignoreList, error) {
	o := buildOptions(opts)
	if o.symlinks != SymlinksReject && o.symlinks != SymlinksFollowInside {
		return o, nil, fmt.Errorf("digest: unknown symlink policy %v", o.symlinks)
	}
	ign, err := compileIgnore(o.ignore)
	return o, ign, err
}

// Paths hashes every regular file at or below each of paths (files or
// directories, relative to root or absolute inside it) and returns them sorted
// by Name. Devices, sockets and FIFOs are errors; so is a path outside root.
// An empty path is an error rather than a quiet synonym for the root. On
// error no artifacts are returned: a partial list must not be attested.
func Paths(ctx context.Context, root string, paths []string, opts ...Option) ([]Artifact, error) {
	o, ign, err := walkOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.cacheDir != "" && o.cache == nil {
		c, err := OpenCache(o.cacheDir)
		if err != nil {
			return nil, err
		}
		o.cache = c
		arts, err := hashPaths(ctx, root, paths, ign, o)
		if err != nil {
			return nil, err
		}
		if err := c.Save(); err != nil {
			return nil, err
		}
		return arts, nil
	}
	return hashPaths(ctx, root, paths, ign, o)
}

// WalkedFile is a regular file found by Walk.
type WalkedFile struct {
	// Name is the slash-separated path relative to the root, as Paths names it.
	Name string
	// Path is the OS path to read: fully resolved, no symbolic links.
	Path string
	// Size is the size seen while walking.
	Size int64
}

// Walk returns the regular files Paths would hash, with the same names,
// ignore patterns and symlink policy, without reading them: a scan and an
// attestation of the same directory then cover the same files.
func Walk(ctx context.Context, root string, paths []string, opts ...Option) ([]WalkedFile, error) {
	o, ign, err := walkOptions(opts)
	if err != nil {
		return nil, err
	}
	jobs, err := walkAll(ctx, root, paths, o.symlinks, ign)
	if err != nil {
		return nil, err
	}
	files := make([]WalkedFile, len(jobs))
	for i, j := range jobs {
		files[i] = WalkedFile{Name: j.name, Path: j.path, Size: j.size}
	}
	return files, nil
}

// walkAll walks every argument first and returns the files sorted by name,
// with their sizes: for work that needs the whole list before hashing
// (a progress total, shard planning).
func walkAll(ctx context.Context, root string, args []string, symlinks SymlinkPolicy, ign ignoreList) ([]job, error) {
	var jobs []job
	w, err := newWalker(root, symlinks, ign, func(j job) { jobs = append(jobs, j) })
	if err != nil {
		return nil, err
	}
	w.needSize = true
	for _, p := range args {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := w.add(ctx, p); err != nil {
			return nil, err
		}
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].name < jobs[b].name })
	return jobs, nil
}

func hashPaths(ctx context.Context, root string, args []string, ign ignoreList, o options) ([]Artifact, error) {
	// A progress bar needs the total first: walk, then hash.
	if o.progress != nil && o.isTerminal(o.progress) {
		jobs, err := walkAll(ctx, root, args, o.symlinks, ign)
		if err != nil {
			return nil, err
		}
		return hashAll(ctx, jobs, o)
	}
	return streamAll(ctx, root, args, ign, o)
}

// streamAll walks and hashes at once: the walker feeds a queue read by a
// bounded pool of o.workers hashing goroutines, and the results are sorted once at the
// end. Errors are those of walking first then hashing: a walk error wins
// (the walk runs to its end or first error even after a file failed, since
// it is deterministic), then the first failing file by name.
func streamAll(parent context.Context, root string, args []string, ign ignoreList, o options) ([]Artifact, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	q := newQueue()
	var (
		jobs []*job
		slab []job // jobs are allocated 256 at a time
	)
	// Jobs reach the workers in small batches: one lock per batch.
	const batch = 32
	pending := make([]*job, 0, batch)
	w, err := newWalker(root, o.symlinks, ign, func(j job) {
		if len(slab) == cap(slab) {
			slab = make([]job, 0, 256)
		}
		slab = append(slab, j)
		jp := &slab[len(slab)-1]
		jobs = append(jobs, jp)
		pending = append(pending, jp)
		if len(pending) == batch {
			q.push(pending)
			pending = pending[:0]
		}
	})
	if err != nil {
		return nil, err
	}
	w.single = len(args) == 1
	w.flush = func() {
		if len(pending) > 0 {
			q.push(pending)
			pending = pending[:0]
		}
	}
	wait := startWorkers(ctx, cancel, q, o.workers, nil, o.hasher())
	var walkErr error
	for _, p := range args {
		if walkErr = parent.Err(); walkErr != nil {
			break
		}
		if walkErr = w.add(parent, p); walkErr != nil {
			break
		}
	}
	w.flush()
	q.close()
	if walkErr != nil {
		cancel()
		wait()
		return nil, walkErr
	}
	wait()
	// The walk yields names almost in order (a directory's entries are
	// sorted; only names like "a.txt" after "a/…" are not).
	byName := func(a, b *job) int { return strings.Compare(a.name, b.name) }
	if !slices.IsSortedFunc(jobs, byName) {
		slices.SortFunc(jobs, byName)
	}
	return collect(parent, jobs)
}

// File hashes one regular file; Name is the file's base name. Of the
// options only WithProgress applies.
//
// There is no root to escape, so a symbolic link named by path is followed
// (the caller named the file), but what it reaches must be a regular file.
func File(ctx context.Context, path string, opts ...Option) (Artifact, error) {
	if err := ctx.Err(); err != nil {
		return Artifact{}, err
	}
	name := filepath.Base(path)
	fi, err := os.Stat(path)
	if err != nil {
		return Artifact{}, pathErr(path, err)
	}
	if fi.IsDir() {
		return Artifact{}, &PathError{Path: path, Err: fmt.Errorf("%w: is a directory (use Paths)", ErrSpecialFile)}
	}
	if !fi.Mode().IsRegular() {
		return Artifact{}, kindErr(path, fi.Mode())
	}
	prog := newProgress(buildOptions(opts), fi.Size())
	defer prog.Finish()
	sum, n, err := hashFile(ctx, path, false, prog.Add)
	if err != nil {
		return Artifact{}, pathErr(path, err)
	}
	return Artifact{Name: filepath.ToSlash(name), SHA256: sum, Size: n}, nil
}
