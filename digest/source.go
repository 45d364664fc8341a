package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"unicode/utf8"
)

// Source is a flat, sorted listing of files read by name: what an object
// store offers in place of a directory tree (package store implements it
// for s3:// prefixes). FromSource hashes a Source through the same queue,
// workers, ignore patterns, error order and result order as Paths, so a
// prefix and a local directory holding the same files give the same
// artifacts.
type Source interface {
	// List calls fn for every file below the source's root, in strictly
	// ascending byte order of name, as the listing arrives. Names are
	// slash-separated and relative to the root; a name ending in "/" with
	// size 0 is a directory marker (what consoles create for an empty
	// "folder") and is skipped.
	List(ctx context.Context, fn func(name string, size int64) error) error
	// ReadTo writes the bytes of the file name, which the listing gave
	// size, to w in order and returns how many it wrote.
	ReadTo(ctx context.Context, name string, size int64, w io.Writer) (int64, error)
}

// Errors of FromSource about names and files a listing gave.
var (
	// ErrNotPath: a name no file below a directory could have (empty, a
	// "." or ".." segment, an empty segment from "//", a leading "/", a
	// NUL byte). Such names are refused, never normalised: two different
	// keys would otherwise get one name.
	ErrNotPath = errors.New("name is not a relative path a directory could hold")
	// ErrFileAndDir: one name is both a file and a directory ("a" and
	// "a/b"), which no directory tree can hold.
	ErrFileAndDir = errors.New("name is both a file and a directory")
	// ErrChanged: a file's bytes did not match the size it was listed
	// with, or the source said it changed while it was read.
	ErrChanged = errors.New("file changed while it was read")
	// ErrUnsorted: the listing was not in strictly ascending name order.
	ErrUnsorted = errors.New("listing is not sorted by name")
)

// sourceWorkers is the default number of files read at once from a
// Source: reads wait on the network, not on a core.
func sourceWorkers() int { return 8 * runtime.GOMAXPROCS(0) }

// FromSource hashes every file src lists and returns them sorted by Name,
// as Paths does for a directory. Ignore patterns apply as in a walk (a
// directory pattern skips every name below it); the symlink policy and the
// hash cache do not apply (a listing has neither links nor inodes). Every
// name is checked: one a directory could not hold is an ErrNotPath error,
// one that is both a file and a directory an ErrFileAndDir error, a file
// whose bytes differ in size from its listing an ErrChanged error. On error
// no artifacts are returned. WithWorkers defaults to 8 × GOMAXPROCS here.
func FromSource(ctx context.Context, src Source, opts ...Option) ([]Artifact, error) {
	o := buildOptionsWorkers(opts, sourceWorkers())
	ign, err := compileIgnore(o.ignore)
	if err != nil {
		return nil, err
	}
	o.source, o.cache, o.cacheDir = src, nil, ""
	if o.progress != nil && o.isTerminal(o.progress) {
		// A progress bar needs the total first: list, then hash.
		var jobs []job
		if err := listSource(ctx, src, ign, func(j job) { jobs = append(jobs, j) }); err != nil {
			return nil, err
		}
		return hashAll(ctx, jobs, o)
	}
	return streamSource(ctx, src, ign, o)
}

// streamSource is streamAll for a Source: the listing feeds the workers
// while it goes on.
func streamSource(parent context.Context, src Source, ign ignoreList, o options) ([]Artifact, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	q := newQueue()
	var jobs []*job
	const batch = 32
	pending := make([]*job, 0, batch)
	wait := startWorkers(ctx, cancel, q, o.workers, nil, o.hasher())
	listErr := listSource(parent, src, ign, func(j job) {
		jp := &j
		jobs = append(jobs, jp)
		if pending = append(pending, jp); len(pending) == batch {
			q.push(pending)
			pending = pending[:0]
		}
	})
	q.push(pending)
	q.close()
	if listErr != nil {
		cancel()
		wait()
		return nil, listErr
	}
	wait()
	return collect(parent, jobs) // the listing was checked to be sorted
}

// listSource lists src, checks every name and emits the files not ignored.
func listSource(ctx context.Context, src Source, ign ignoreList, emit func(job)) error {
	var (
		prev  string
		first = true
		// dirs records every directory met (true: ignored); files every
		// file, so that "a" and "a/b" are caught whatever lies between.
		dirs  = map[string]bool{}
		files = map[string]struct{}{}
	)
	return src.List(ctx, func(name string, size int64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !first && name <= prev {
			return &PathError{Path: name, Err: fmt.Errorf("%w: %q after %q", ErrUnsorted, name, prev)}
		}
		first, prev = false, name
		if dir, ok := strings.CutSuffix(name, "/"); ok && size == 0 && dir != "" {
			if err := checkSourceName(dir); err != nil {
				return err
			}
			_, err := sourceDirs(dir+"/x", dirs, files, ign)
			return err
		}
		if err := checkSourceName(name); err != nil {
			return err
		}
		ignored, err := sourceDirs(name, dirs, files, ign)
		if err != nil || ignored {
			return err
		}
		if _, isDir := dirs[name]; isDir {
			return &PathError{Path: name, Err: ErrFileAndDir}
		}
		files[name] = struct{}{}
		if ign.match(name, false) {
			return nil
		}
		emit(job{name: name, size: size})
		return nil
	})
}

// sourceDirs records the directories above name and reports whether one of
// them is ignored; a directory that is also a file is an error.
func sourceDirs(name string, dirs map[string]bool, files map[string]struct{}, ign ignoreList) (bool, error) {
	ignored := false
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		dir := name[:i]
		ig, seen := dirs[dir]
		if !seen {
			if _, isFile := files[dir]; isFile {
				return false, &PathError{Path: dir, Err: ErrFileAndDir}
			}
			// A directory below an ignored one is never walked, so it is
			// ignored too.
			ig = ignored || ign.match(dir, true)
			dirs[dir] = ig
		}
		ignored = ignored || ig
	}
	return ignored, nil
}

// checkSourceName refuses what no file below a directory could be named.
func checkSourceName(name string) error {
	if !utf8.ValidString(name) {
		return &PathError{Path: name, Err: ErrBadName}
	}
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.ContainsRune(name, 0) {
		return &PathError{Path: name, Err: ErrNotPath}
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return &PathError{Path: name, Err: ErrNotPath}
		}
	}
	return nil
}

// sourceHasher reads a job's bytes from src into SHA-256.
func sourceHasher(src Source) hasher {
	return func(ctx context.Context, j *job, add func(int64)) (string, int64, error) {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		h := sha256.New()
		var w io.Writer = h
		if add != nil {
			w = progressWriter{h, add}
		}
		n, err := src.ReadTo(ctx, j.name, j.size, w)
		if err != nil {
			return "", n, err
		}
		if n != j.size {
			return "", n, fmt.Errorf("%w: listed with %d bytes, read %d", ErrChanged, j.size, n)
		}
		return hex.EncodeToString(h.Sum(nil)), n, nil
	}
}

// progressWriter tells add of every write.
type progressWriter struct {
	w   io.Writer
	add func(int64)
}

func (p progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.add(int64(n))
	return n, err
}

// SourceFile is one file of a checked listing (ListSource).
type SourceFile struct {
	Name string
	Size int64
}

// ListSource returns the files FromSource would hash, in name order, with
// the same checks and ignore patterns, without reading them: for work
// planned over the whole listing first (sharding).
func ListSource(ctx context.Context, src Source, opts ...Option) ([]SourceFile, error) {
	o := buildOptions(opts)
	ign, err := compileIgnore(o.ignore)
	if err != nil {
		return nil, err
	}
	var files []SourceFile
	err = listSource(ctx, src, ign, func(j job) { files = append(files, SourceFile{Name: j.name, Size: j.size}) })
	if err != nil {
		return nil, err
	}
	return files, nil
}

// HashSourceFiles hashes files (sorted by name, as ListSource returns
// them) from src and returns their artifacts in the same order. Of the
// options WithWorkers (default 8 × GOMAXPROCS) and WithProgress apply.
func HashSourceFiles(ctx context.Context, src Source, files []SourceFile, opts ...Option) ([]Artifact, error) {
	o := buildOptionsWorkers(opts, sourceWorkers())
	o.source, o.cache = src, nil
	jobs := make([]job, len(files))
	for i, f := range files {
		if i > 0 && f.Name <= files[i-1].Name {
			return nil, &PathError{Path: f.Name, Err: fmt.Errorf("%w: %q after %q", ErrUnsorted, f.Name, files[i-1].Name)}
		}
		jobs[i] = job{name: f.Name, size: f.Size}
	}
	return hashAll(ctx, jobs, o)
}
