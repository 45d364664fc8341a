// Package digest hashes files and directory trees with SHA-256: streaming,
// parallel across files, with deterministic slash-separated names relative to
// a root, a documented symlink policy and ignore patterns.
//
// CONTRACT (filled in by the digest work): the exported API below is what the
// other packages build against; keep these signatures.
package digest

import (
	"context"
	"io"
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

// Option configures Paths and File.
type Option func(*options)

type options struct {
	workers  int
	ignore   []string
	symlinks SymlinkPolicy
	progress io.Writer
}

// WithWorkers sets the number of files hashed at once (default: GOMAXPROCS).
func WithWorkers(n int) Option { return func(o *options) { o.workers = n } }

// WithIgnore replaces the ignore patterns (default ".git/").
func WithIgnore(patterns ...string) Option { return func(o *options) { o.ignore = patterns } }

// WithSymlinks sets the symlink policy.
func WithSymlinks(p SymlinkPolicy) Option { return func(o *options) { o.symlinks = p } }

// WithProgress draws a progress bar on w when w is a terminal and the work is large.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// Paths hashes every regular file at or below each of paths (files or
// directories, relative to root or absolute inside it) and returns them sorted
// by Name. Devices, sockets and FIFOs are errors; so is a path outside root.
func Paths(ctx context.Context, root string, paths []string, opts ...Option) ([]Artifact, error) {
	panic("not implemented")
}

// File hashes one regular file; Name is the file's base name.
func File(ctx context.Context, path string) (Artifact, error) {
	panic("not implemented")
}
