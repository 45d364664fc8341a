package model

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Shard index rules: a *.index.json's weight_map names the files a loader
// opens and the tensor each holds.
const (
	RuleShardIndex        = "shard-index"         // weight_map is an object of tensor name to file name
	RuleShardIndexPath    = "shard-index-path"    // every target is a clean relative path inside the repository
	RuleShardIndexMissing = "shard-index-missing" // every target is a regular file among the scanned ones
	RuleShardIndexFormat  = "shard-index-format"  // every target is of the format the index's name implies
	RuleShardIndexTensors = "shard-index-tensors" // each shard holds exactly the tensors mapped to it
)

// shardIndex is a parsed weight_map, checked against the files once the
// index's own scan is done.
type shardIndex struct {
	byFile map[string][]string // target -> tensor names mapped to it
}

// indexedFormats are the formats an index's name (its file name without
// ".index.json") implies for its shards.
func indexedFormats(indexName string) []string {
	switch strings.ToLower(path.Ext(strings.TrimSuffix(indexName, ".index.json"))) {
	case ".safetensors":
		return []string{FormatSafetensors}
	case ".bin", ".pt", ".pth":
		return []string{FormatPyTorchZip, FormatPyTorchTar, FormatPyTorchLeg}
	case ".h5":
		return []string{FormatKerasHDF5, FormatHDF5}
	}
	return nil
}

// parseWeightMap reads weight_map and checks its targets lexically.
func (sc *scan) parseWeightMap(v any) {
	o, ok := v.(*jsonObject)
	if !ok || len(o.keys) == 0 {
		sc.add("", -1, Invalid, RuleShardIndex, "weight_map is not a non-empty object of tensor names to files")
		return
	}
	idx := &shardIndex{byFile: map[string][]string{}}
	for _, t := range o.keys {
		f, ok := o.vals[t].(string)
		if !ok {
			sc.add("", -1, Invalid, RuleShardIndex, "weight_map %q: the target is not a string", t)
			return
		}
		if _, seen := idx.byFile[f]; !seen {
			if sev, why := shardPathProblem(f); why != "" {
				sc.add("", -1, sev, RuleShardIndexPath, "weight_map target %q %s", f, why)
				return
			}
		}
		idx.byFile[f] = append(idx.byFile[f], t)
	}
	sc.index = idx
}

// shardPathProblem: loaders join the target to the repository directory,
// so anything but a clean relative path can open another file.
func shardPathProblem(f string) (Verdict, string) {
	switch {
	case f == "":
		return Invalid, "is empty"
	case strings.HasPrefix(f, "/") || strings.Contains(f, `\`) || filepath.IsAbs(f) || len(f) > 1 && f[1] == ':':
		return Malicious, "is an absolute path or uses backslashes: it names a file outside the repository"
	case slices.Contains(strings.Split(f, "/"), ".."):
		return Malicious, "climbs out of the repository with .."
	case path.Clean(f) != f || strings.ContainsRune(f, 0):
		return Invalid, "is not a clean relative path"
	}
	return Safe, ""
}

// shardOpener opens a shard index's target f (a clean relative path)
// next to the index, or says why it cannot ("is not a regular file …",
// completing "weight_map target %q ").
type shardOpener func(f string) (File, string)

// localShard opens targets among walked (when the index was found by
// walking a directory: the names of its regular files to their OS paths),
// on disk otherwise.
func localShard(indexPath string, walked map[string]string) shardOpener {
	return func(f string) (File, string) {
		p := filepath.Join(filepath.Dir(indexPath), filepath.FromSlash(f))
		if walked != nil {
			osPath, ok := walked[p]
			if !ok {
				return nil, "is not a regular file among the scanned files"
			}
			p = osPath
		} else if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			return nil, "is not a regular file next to the index"
		}
		fh, err := os.Open(p)
		if err != nil {
			return nil, fmt.Sprintf("cannot be opened: %v", err)
		}
		fi, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, fmt.Sprintf("cannot be read: %v", err)
		}
		return osFile{fh, fi.Size()}, ""
	}
}

// osFile is a local file as a File.
type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// checkShards resolves an index's targets next to it through open: each
// must be a regular file, of the implied format, holding exactly the
// tensors the index maps to it.
func (s *Scanner) checkShards(ctx context.Context, indexPath string, idx *shardIndex, open shardOpener) []Finding {
	var out []Finding
	add := func(sev Verdict, rule, format string, args ...any) {
		out = append(out, Finding{Rule: rule, Severity: sev, Offset: -1, Message: fmt.Sprintf(format, args...)})
	}
	want := indexedFormats(path.Base(filepath.ToSlash(indexPath)))
	targets := make([]string, 0, len(idx.byFile))
	for f := range idx.byFile {
		targets = append(targets, f)
	}
	sort.Strings(targets)
	for _, f := range targets {
		fh, why := open(f)
		if fh == nil {
			add(Unknown, RuleShardIndexMissing, "weight_map target %q %s", f, why)
			continue
		}
		format := (&Scanner{limits: s.limits}).scanReaderAt(ctx, fh, fh.Size(), path.Base(f)).Format
		if want != nil && !slices.Contains(want, format) {
			add(Unknown, RuleShardIndexFormat, "weight_map target %q is %s, not %s as the index's name implies", f, format, strings.Join(want, " or "))
		} else if format == FormatSafetensors {
			if msg := shardTensors(fh, fh.Size(), idx.byFile[f]); msg != "" {
				add(Invalid, RuleShardIndexTensors, "shard %q: %s", f, msg)
			}
		}
		fh.Close()
	}
	return out
}

// shardTensors compares the tensors of a safetensors shard with the ones
// an index maps to it.
func shardTensors(ra io.ReaderAt, size int64, mapped []string) string {
	var lb [8]byte
	if _, err := ra.ReadAt(lb[:], 0); err != nil {
		return "header unreadable"
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > uint64(size-8) {
		return "header length exceeds the file"
	}
	h := make([]byte, n)
	if _, err := ra.ReadAt(h, 8); err != nil {
		return "header unreadable"
	}
	v, err := parseJSON(h)
	o, ok := v.(*jsonObject)
	if err != nil || !ok {
		return "header is not a JSON object"
	}
	in := map[string]bool{}
	for _, k := range o.keys {
		if k != "__metadata__" {
			in[k] = true
		}
	}
	var missing []string
	for _, t := range mapped {
		if !in[t] {
			missing = append(missing, t)
		}
		delete(in, t)
	}
	var extra []string
	for t := range in {
		extra = append(extra, t)
	}
	sort.Strings(extra)
	switch {
	case len(missing) > 0:
		return fmt.Sprintf("does not hold %q, which the index maps to it", missing)
	case len(extra) > 0:
		return fmt.Sprintf("holds %q, which the index does not map to it", extra)
	}
	return ""
}
