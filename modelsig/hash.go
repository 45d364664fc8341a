package modelsig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlattest/mlattest/digest"
)

// ErrSymlinkedDirectory is a symbolic link to a directory in a model hashed
// with allow_symlinks: the model_signing tool neither descends into it nor
// lists it, so its files would be left unsigned. It is refused instead.
var ErrSymlinkedDirectory = errors.New("symbolic link to a directory (the model signing format signs no file below it)")

// Hash builds the manifest of the model at modelPath (a directory, or a
// single file whose one resource is ".") as s describes: files or shards,
// s.IgnorePaths skipped (each with everything below it), symbolic links
// refused unless s.AllowSymlinks (then a link to a file inside the model is
// hashed under the link's name, as the model_signing tool does). Files are
// walked and hashed by digest; opts may set workers or progress, never the
// ignore or symlink policy, which come from s.
func Hash(ctx context.Context, modelPath string, s Serialization, opts ...digest.Option) (*Manifest, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(modelPath)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, err)
	}
	m := &Manifest{ModelName: filepath.Base(abs), Serialization: s, PredicateType: PredicateType}
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if !s.AllowSymlinks {
			return nil, &digest.PathError{Path: modelPath, Err: digest.ErrSymlink}
		}
		if fi, err = os.Stat(abs); err != nil {
			return nil, fmt.Errorf("model %s: %w", modelPath, err)
		}
	}

	policy := digest.SymlinksReject
	if s.AllowSymlinks {
		policy = digest.SymlinksFollowInside
	}
	var root string
	var args []string
	switch {
	case fi.Mode().IsRegular():
		// A single-file model: its resource is "." (the file relative to
		// itself); ignore paths cannot apply.
		root, args = filepath.Dir(abs), []string{filepath.Base(abs)}
	case fi.IsDir():
		root, args = abs, []string{"."}
		if s.AllowSymlinks {
			if err := refuseLinkedDirs(abs, s.IgnorePaths); err != nil {
				return nil, err
			}
		}
	default:
		return nil, &digest.PathError{Path: modelPath, Err: fmt.Errorf("%w: %s", digest.ErrSpecialFile, digest.KindName(fi.Mode()))}
	}
	opts = append(opts[:len(opts):len(opts)], digest.WithIgnore(ignorePatterns(s.IgnorePaths)...), digest.WithSymlinks(policy))

	rename := func(name string) string {
		if fi.Mode().IsRegular() {
			return "."
		}
		return name
	}
	if s.Method == MethodShards {
		shards, err := digest.ShardedPaths(ctx, root, args, s.ShardSize, opts...)
		if err != nil {
			return nil, err
		}
		alg := s.resourceAlgorithm()
		for _, sh := range shards {
			if sh.End == 0 {
				continue // an empty file has no shard in this format
			}
			sh.Name = rename(sh.Name)
			m.Resources = append(m.Resources, Resource{Name: sh.ID(), Algorithm: alg, Digest: sh.SHA256})
		}
	} else {
		arts, err := digest.Paths(ctx, root, args, opts...)
		if err != nil {
			return nil, err
		}
		for _, a := range arts {
			m.Resources = append(m.Resources, Resource{Name: rename(a.Name), Algorithm: s.HashType, Digest: a.SHA256})
		}
	}
	m.SortResources()
	return m, nil
}

// ignorePatterns turns ignore paths into digest patterns anchored at the
// model root ("/" prefix), glob characters escaped: an ignore path is a
// literal path, excluding itself and, if a directory, its subtree.
func ignorePatterns(paths []string) []string {
	out := make([]string, 0, len(paths))
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	for _, p := range paths {
		out = append(out, "/"+r.Replace(p))
	}
	return out
}

// ignored reports whether rel is an ignore path or below one.
func ignored(rel string, paths []string) bool {
	for _, p := range paths {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// refuseLinkedDirs finds symbolic links to directories outside the ignore
// paths (see ErrSymlinkedDirectory).
func refuseLinkedDirs(root string, ignorePaths []string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil || rel == "." {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if ignored(rel, ignorePaths) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return &digest.PathError{Path: rel, Err: ErrSymlinkedDirectory}
		}
		return nil
	})
}
