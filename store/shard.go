package store

import (
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/strictjson"
)

// Sharding: N workers digest one location together without talking to
// each other. Each lists the whole location (same checks and ignore
// patterns as a single digest), so each holds the same sorted listing and
// the same listing digest; Plan assigns every file to one of N shards by
// size; worker i hashes shard i and writes a Part carrying the listing
// digest. Merge checks that the parts are all there once, come from one
// listing, and cover it exactly, then returns exactly the artifacts one
// process would have computed.
//
// A file's SHA-256 is sequential, so a whole-file digest never splits a
// file: it is hashed by one worker. A sharded digest (sha256-sharded-SIZE
// manifests, digest.ShardedSource) is made of byte ranges hashed on their
// own, so there the ranges are the unit of work and one huge file is
// spread over every worker (PlanShards, DigestRangeShard, MergeShards).

// PartType is the type of a part file.
const PartType = "https://mlattest.dev/digest-part/v1"

// MaxPartSize bounds the part files Merge reads.
const MaxPartSize = 1 << 30

// objectCost is the weight of one object in the plan besides its bytes:
// a request costs about what 256 KiB of transfer does, so that thousands
// of empty files are spread too.
const objectCost = 256 << 10

// Listed is one file of a listing.
type Listed struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
}

// Listing is a location's checked listing and its digest.
type Listing struct {
	Location string
	Files    []Listed // sorted by Name
	// Digest is "sha256:HEX" over the location and every file's name,
	// size and ETag (ListingDigest).
	Digest string
}

// ListingDigest is the digest of a location's listing: SHA-256 over a
// header line, the location, and one JSON array [name, size, etag] per
// file in order. A changed, added or removed object, or another location,
// changes it.
func ListingDigest(location string, files []Listed) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	enc.Encode([]string{"mlattest-listing/v1", location})
	for _, f := range files {
		enc.Encode([]any{f.Name, f.Size, f.ETag})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Listing lists the source's location through digest's checks (opts: the
// ignore patterns).
func (s *Source) Listing(ctx context.Context, opts ...digest.Option) (*Listing, error) {
	files, err := digest.ListSource(ctx, s, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Location(), err)
	}
	l := &Listing{Location: s.Location(), Files: make([]Listed, len(files))}
	s.mu.Lock()
	for i, f := range files {
		l.Files[i] = Listed{Name: f.Name, Size: f.Size, ETag: s.objects[f.Name].ETag}
	}
	s.mu.Unlock()
	l.Digest = ListingDigest(l.Location, l.Files)
	return l, nil
}

// Plan assigns each file (by index into files) to one of n shards:
// largest first (by size plus a per-object cost; ties by name) to the
// least loaded shard (ties: lowest index). It depends on nothing but the
// listing, so every worker computes the same plan. Each shard's indices
// are ascending.
func Plan(files []Listed, n int) [][]int {
	weights := make([]int64, len(files))
	for i, f := range files {
		weights[i] = max(f.Size, 0) + objectCost
	}
	return planWeights(weights, n)
}

// planWeights assigns units of work (by index) to n shards: heaviest
// first (ties: lower index) to the least loaded shard (ties: lowest
// index). Each shard's indices are ascending.
func planWeights(weights []int64, n int) [][]int {
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(weights[b], weights[a]) })
	h := make(loads, n)
	for i := range h {
		h[i] = load{shard: i}
	}
	out := make([][]int, n)
	for _, i := range order {
		out[h[0].shard] = append(out[h[0].shard], i)
		h[0].bytes += weights[i]
		heap.Fix(&h, 0)
	}
	for _, s := range out {
		slices.Sort(s)
	}
	return out
}

type load struct {
	bytes int64
	shard int
}

// loads is a min-heap of shards by load, then index.
type loads []load

func (h loads) Len() int { return len(h) }
func (h loads) Less(i, j int) bool {
	if h[i].bytes != h[j].bytes {
		return h[i].bytes < h[j].bytes
	}
	return h[i].shard < h[j].shard
}
func (h loads) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *loads) Push(x any)   { *h = append(*h, x.(load)) }
func (h *loads) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// PartArtifact is one hashed file of a part, with the ETag it was listed
// with (so that Merge can recompute the listing digest from the parts).
type PartArtifact struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag,omitempty"`
}

// Part is what worker Shard of Shards computed.
type Part struct {
	Type      string         `json:"type"`
	Location  string         `json:"location"`
	Listing   string         `json:"listing"`
	Files     int            `json:"files"` // files in the whole listing
	Shard     int            `json:"shard"`
	Shards    int            `json:"shards"`
	Artifacts []PartArtifact `json:"artifacts,omitempty"` // this shard's, sorted by name

	// A part of a sharded digest (type ShardPartType) holds ranges
	// instead: see PartRange.
	ShardSize int64       `json:"shard_size,omitempty"`
	Plan      string      `json:"plan,omitempty"`
	Ranges    []PartRange `json:"ranges,omitempty"`
}

// PartName is the file name of part i of n.
func PartName(i, n int) string { return fmt.Sprintf("part-%05d-of-%05d.json", i, n) }

// ErrShard: a shard i/N that does not exist (not 0 <= i < N).
var ErrShard = errors.New("bad shard")

// DigestShard hashes shard i of n of the listing l from the source.
func (s *Source) DigestShard(ctx context.Context, l *Listing, i, n int, opts ...digest.Option) (*Part, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("%w: %d/%d (want 0 <= i < N)", ErrShard, i, n)
	}
	idx := Plan(l.Files, n)[i]
	files := make([]digest.SourceFile, len(idx))
	for k, j := range idx {
		files[k] = digest.SourceFile{Name: l.Files[j].Name, Size: l.Files[j].Size}
	}
	arts, err := digest.HashSourceFiles(ctx, s, files, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Location, err)
	}
	p := &Part{Type: PartType, Location: l.Location, Listing: l.Digest, Files: len(l.Files), Shard: i, Shards: n,
		Artifacts: make([]PartArtifact, len(arts))}
	for k, a := range arts {
		p.Artifacts[k] = PartArtifact{Name: a.Name, SHA256: a.SHA256, Size: a.Size, ETag: l.Files[idx[k]].ETag}
	}
	return p, nil
}

// Marshal encodes the part; the bytes depend only on its content, so a
// worker run again writes the same part.
func (p *Part) Marshal() ([]byte, error) {
	return strictjson.Encode(p)
}

// ErrPart: a part file that is malformed, foreign, duplicated or missing,
// or parts that do not cover their listing exactly.
var ErrPart = errors.New("bad parts")

// ParsePart decodes a part strictly (unknown fields, trailing data, a
// wrong type or impossible numbers are errors).
func ParsePart(b []byte) (*Part, error) {
	var p Part
	if err := strictjson.Decode(b, &p, "part"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPart, err)
	}
	switch p.Type {
	case PartType:
		if p.ShardSize != 0 || p.Plan != "" || p.Ranges != nil {
			return nil, fmt.Errorf("%w: a whole-file part (%s) with ranges", ErrPart, PartType)
		}
	case ShardPartType:
		if err := checkRanges(&p); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: type %q is not one this mlattest reads (%s for whole files, %s for ranges); a part of another version?",
			ErrPart, p.Type, PartType, ShardPartType)
	}
	switch {
	case p.Shards < 1 || p.Shard < 0 || p.Shard >= p.Shards:
		return nil, fmt.Errorf("%w: shard %d of %d", ErrPart, p.Shard, p.Shards)
	case p.Files < len(p.Artifacts):
		return nil, fmt.Errorf("%w: %d artifacts of a %d-file listing", ErrPart, len(p.Artifacts), p.Files)
	case !strings.HasPrefix(p.Listing, "sha256:") || len(p.Listing) != len("sha256:")+64:
		return nil, fmt.Errorf("%w: listing digest %q", ErrPart, p.Listing)
	}
	for k, a := range p.Artifacts {
		if k > 0 && a.Name <= p.Artifacts[k-1].Name {
			return nil, fmt.Errorf("%w: artifacts not sorted at %q", ErrPart, a.Name)
		}
		if len(a.SHA256) != 64 || strings.Trim(a.SHA256, "0123456789abcdef") != "" || a.Size < 0 {
			return nil, fmt.Errorf("%w: artifact %q: bad digest or size", ErrPart, a.Name)
		}
	}
	return &p, nil
}

// NamedPart is a part and the file it was read from.
type NamedPart struct {
	File string
	Part *Part
}

// Merge checks parts and returns the artifacts one process would have
// computed: all N parts present once, each named as its shard, all from
// one listing of one location, together covering that listing exactly
// (their names, sizes and ETags hash to its digest) and each holding
// exactly the files the plan gives its shard. Every refusal is an ErrPart
// error naming the part file.
func Merge(parts []NamedPart) ([]digest.Artifact, error) {
	byShard, err := checkParts(parts, PartType)
	if err != nil {
		return nil, err
	}
	ref := byShard[0]
	n := ref.Part.Shards
	var all []PartArtifact
	owner := map[string]int{}
	for i, np := range byShard {
		for _, a := range np.Part.Artifacts {
			if j, dup := owner[a.Name]; dup {
				return nil, fmt.Errorf("%w: %q is in %s and %s", ErrPart, a.Name, byShard[j].File, np.File)
			}
			owner[a.Name] = i
			all = append(all, a)
		}
	}
	slices.SortFunc(all, func(a, b PartArtifact) int { return strings.Compare(a.Name, b.Name) })
	files := make([]Listed, len(all))
	for k, a := range all {
		files[k] = Listed{Name: a.Name, Size: a.Size, ETag: a.ETag}
	}
	if len(files) != ref.Part.Files || ListingDigest(ref.Part.Location, files) != ref.Part.Listing {
		return nil, fmt.Errorf("%w: the parts hold %d files that do not make up the listing %s of %d files they name",
			ErrPart, len(files), ref.Part.Listing, ref.Part.Files)
	}
	for i, idx := range Plan(files, n) {
		got := byShard[i].Part.Artifacts
		if len(got) != len(idx) {
			return nil, fmt.Errorf("%w: %s holds %d files, the plan gives shard %d %d", ErrPart, byShard[i].File, len(got), i, len(idx))
		}
		for k, j := range idx {
			if got[k].Name != files[j].Name {
				return nil, fmt.Errorf("%w: %s holds %q, which the plan gives another shard", ErrPart, byShard[i].File, got[k].Name)
			}
		}
	}
	out := make([]digest.Artifact, len(all))
	for k, a := range all {
		out[k] = digest.Artifact{Name: a.Name, SHA256: a.SHA256, Size: a.Size}
	}
	return out, nil
}

// partKind says what parts of a type hold, and which function merges them.
var partKind = map[string]string{
	PartType:      "a whole-file digest (Merge)",
	ShardPartType: "a sharded digest's ranges (MergeShards)",
}

// checkParts checks what parts of every kind must satisfy (at least one;
// all of type typ, from one listing of one location in one shard count;
// each shard once, in the file of its name; none missing) and returns
// them by shard.
func checkParts(parts []NamedPart, typ string) ([]*NamedPart, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no part files", ErrPart)
	}
	slices.SortFunc(parts, func(a, b NamedPart) int { return strings.Compare(a.File, b.File) })
	ref := parts[0]
	for _, np := range parts[1:] {
		p := np.Part
		if p.Listing != ref.Part.Listing || p.Location != ref.Part.Location || p.Shards != ref.Part.Shards || p.Files != ref.Part.Files ||
			p.Type != ref.Part.Type || p.ShardSize != ref.Part.ShardSize {
			return nil, fmt.Errorf("%w: foreign part %s: listing %s of %s in %d shards, but %s has listing %s of %s in %d shards",
				ErrPart, np.File, p.Listing, p.Location, p.Shards, ref.File, ref.Part.Listing, ref.Part.Location, ref.Part.Shards)
		}
	}
	if ref.Part.Type != typ {
		return nil, fmt.Errorf("%w: %s is a part of %s, not %s", ErrPart, ref.File, partKind[ref.Part.Type], partKind[typ])
	}
	n := ref.Part.Shards
	byShard := make([]*NamedPart, n)
	for k := range parts {
		np := &parts[k]
		if prev := byShard[np.Part.Shard]; prev != nil {
			return nil, fmt.Errorf("%w: duplicated part %d of %d: %s and %s", ErrPart, np.Part.Shard, n, prev.File, np.File)
		}
		byShard[np.Part.Shard] = np
	}
	for _, np := range byShard {
		if np == nil {
			continue
		}
		if base := np.File[strings.LastIndex(np.File, "/")+1:]; base != PartName(np.Part.Shard, n) {
			return nil, fmt.Errorf("%w: %s holds shard %d of %d (%s)", ErrPart, np.File, np.Part.Shard, n, PartName(np.Part.Shard, n))
		}
	}
	var missing []string
	for i, np := range byShard {
		if np == nil {
			missing = append(missing, PartName(i, n))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing %d of %d parts: %s", ErrPart, len(missing), n, strings.Join(missing, ", "))
	}
	return byShard, nil
}

// PartInfo is what every part file says of itself, whatever it holds.
type PartInfo struct {
	File     string // where it was read from
	Type     string
	Location string
	Listing  string
	Files    int
	Shard    int
	Shards   int
}

// CheckParts checks parts of a kind merged outside this package (a
// dataset scan's) as checkParts checks digest parts: all of type typ, all
// N present once, each under its own name, all from one listing of one
// location. It returns the parts' indices in shard order. Every refusal
// is an ErrPart error naming the part file.
func CheckParts(infos []PartInfo, typ string) ([]int, error) {
	parts := make([]NamedPart, len(infos))
	at := make(map[string]int, len(infos))
	for k, in := range infos {
		if in.Shards < 1 || in.Shard < 0 || in.Shard >= in.Shards {
			return nil, fmt.Errorf("%w: %s: shard %d of %d", ErrPart, in.File, in.Shard, in.Shards)
		}
		if _, dup := at[in.File]; dup {
			return nil, fmt.Errorf("%w: %s read twice", ErrPart, in.File)
		}
		at[in.File] = k
		parts[k] = NamedPart{File: in.File, Part: &Part{Type: in.Type, Location: in.Location, Listing: in.Listing, Files: in.Files, Shard: in.Shard, Shards: in.Shards}}
	}
	byShard, err := checkParts(parts, typ)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(byShard))
	for i, np := range byShard {
		order[i] = at[np.File]
	}
	return order, nil
}

// putter is a Bucket that can store an object (s3 and file buckets can).
type putter interface {
	Put(ctx context.Context, name string, data []byte) error
}

// OpenParts opens the location parts are written to and read from: a
// location URL, or a local directory (created if missing and create).
func OpenParts(ctx context.Context, prefix string, create bool, opts ...Option) (Bucket, error) {
	if !IsURL(prefix) {
		abs, err := filepath.Abs(prefix)
		if err != nil {
			return nil, err
		}
		if create {
			if err := os.MkdirAll(abs, 0o755); err != nil {
				return nil, fmt.Errorf("store: part directory: %w", err)
			}
		}
		prefix = "file://" + filepath.ToSlash(abs)
	} else if loc, err := ParseLocation(prefix); err == nil && loc.Scheme == "file" && create {
		if err := os.MkdirAll(filepath.FromSlash(loc.Prefix), 0o755); err != nil {
			return nil, fmt.Errorf("store: part directory: %w", err)
		}
	}
	return Open(ctx, prefix, opts...)
}

// WritePart stores p under b as PartName(p.Shard, p.Shards), whole or not
// at all (a rename locally, one PUT in a bucket).
func WritePart(ctx context.Context, b Bucket, p *Part) error {
	w, ok := b.(putter)
	if !ok {
		return fmt.Errorf("%w: %s cannot be written", ErrUnsupported, b.Location())
	}
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	return w.Put(ctx, PartName(p.Shard, p.Shards), data)
}

// ReadParts reads every part-*.json directly under b (deeper names and
// other files are not parts).
func ReadParts(ctx context.Context, b Bucket) ([]NamedPart, error) {
	files, err := ReadPartFiles(ctx, b)
	if err != nil {
		return nil, err
	}
	return ParseParts(files)
}

// ParseParts parses part files as digest parts.
func ParseParts(files []PartFile) ([]NamedPart, error) {
	parts := make([]NamedPart, 0, len(files))
	for _, f := range files {
		p, err := ParsePart(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.File, err)
		}
		parts = append(parts, NamedPart{File: f.File, Part: p})
	}
	return parts, nil
}

// PartFile is a part file's bytes, unparsed.
type PartFile struct {
	File string // its location and name
	Data []byte
}

// ReadPartFiles reads every part-*.json directly under b (deeper names and
// other files are not parts), each of at most MaxPartSize bytes.
func ReadPartFiles(ctx context.Context, b Bucket) ([]PartFile, error) {
	var objs []Object
	err := b.List(ctx, func(o Object) error {
		if !strings.Contains(o.Name, "/") && strings.HasPrefix(o.Name, "part-") && strings.HasSuffix(o.Name, ".json") {
			objs = append(objs, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var files []PartFile
	for _, o := range objs {
		data, err := ReadObject(ctx, b, o, MaxPartSize)
		if err != nil {
			return nil, err
		}
		files = append(files, PartFile{File: b.Location() + o.Name, Data: data})
	}
	return files, nil
}

// ReadObject reads the whole of o from b, refusing more than limit bytes.
func ReadObject(ctx context.Context, b Bucket, o Object, limit int64) ([]byte, error) {
	file := b.Location() + o.Name
	if o.Size > limit {
		return nil, fmt.Errorf("%w: %s: %d bytes, more than %d", ErrPart, file, o.Size, limit)
	}
	rc, err := b.ReadRange(ctx, o, 0, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("store: reading %s: %w", file, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrPart, file, limit)
	}
	return data, nil
}

// PartTypeOf is the "type" a part file names ("" when it names none or is
// not a JSON object).
func PartTypeOf(data []byte) string {
	var v struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	return v.Type
}

// streamPutter is a Bucket that can store an object from a reader without
// holding it in memory (s3 and file buckets can).
type streamPutter interface {
	PutFrom(ctx context.Context, name string, r io.ReadSeeker, size int64) error
}

// PutFrom stores the size bytes of r under b as name, whole or not at all;
// a bucket that cannot stream an object gets them in memory.
func PutFrom(ctx context.Context, b Bucket, name string, r io.ReadSeeker, size int64) error {
	if sp, ok := b.(streamPutter); ok {
		return sp.PutFrom(ctx, name, r, size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("store: writing %s%s: %w", b.Location(), name, err)
	}
	return Put(ctx, b, name, data)
}

// Put stores data under b as name, whole or not at all (a rename locally,
// one PUT in a bucket).
func Put(ctx context.Context, b Bucket, name string, data []byte) error {
	w, ok := b.(putter)
	if !ok {
		return fmt.Errorf("%w: %s cannot be written", ErrUnsupported, b.Location())
	}
	return w.Put(ctx, name, data)
}
