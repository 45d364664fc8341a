package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mlattest/mlattest/digest"
)

// Sharding a sharded digest: the work is the listing's byte ranges (every
// file cut at the shard size, as digest.ShardedSource cuts it), so one
// huge file is spread over every worker. The plan is Plan's, over ranges
// instead of files; a part holds its ranges, each with its file's size
// and ETag, so that Merge can rebuild the listing and its plan.

// ShardPartType is the type of a part of a sharded digest (ranges).
const ShardPartType = "https://mlattest.dev/digest-shard-part/v1"

// PartRange is one hashed byte range [Start, End) of a file, with the
// size and ETag the file was listed with.
type PartRange struct {
	Name   string `json:"name"`
	Start  int64  `json:"start"`
	End    int64  `json:"end"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag,omitempty"`
}

func (r PartRange) id() string { return fmt.Sprintf("%s:%d:%d", r.Name, r.Start, r.End) }

// RangePlan is a listing cut into ranges and the ranges given to shards.
type RangePlan struct {
	// Ranges is every range of the listing in manifest order (file name,
	// then start), digests not set.
	Ranges []digest.Shard
	// File is, for every range, the index of its file in the listing.
	File []int
	// Shards holds, for every shard, its ranges' indices, ascending.
	Shards [][]int
}

// PlanRanges cuts files (a sorted listing) at shardSize bytes and assigns
// the ranges to n shards as Plan assigns files: by bytes plus a cost per
// request, heaviest first, to the least loaded. It depends on nothing
// but the listing, so every worker computes the same plan.
func PlanRanges(files []Listed, shardSize int64, n int) (*RangePlan, error) {
	sf := make([]digest.SourceFile, len(files))
	for i, f := range files {
		sf[i] = digest.SourceFile{Name: f.Name, Size: f.Size}
	}
	ranges, file, err := digest.SourceShards(sf, shardSize)
	if err != nil {
		return nil, err
	}
	weights := make([]int64, len(ranges))
	for i, r := range ranges {
		weights[i] = r.End - r.Start + objectCost
	}
	return &RangePlan{Ranges: ranges, File: file, Shards: planWeights(weights, n)}, nil
}

// planDigest is the digest of the ranges a part was given: SHA-256 over a
// header line and one JSON array [name, start, end] per range. A part
// records it so that a range lost from or added to a part names the part.
func planDigest(ranges []PartRange) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	enc.Encode([]string{"mlattest-range-plan/v1"})
	for _, r := range ranges {
		enc.Encode([]any{r.Name, r.Start, r.End})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// DigestRanges hashes the ranges the plan of the listing l cut at
// shardSize gives shard i of n (digest's WithWorkers applies: ranges read
// at once).
func (s *Source) DigestRanges(ctx context.Context, l *Listing, shardSize int64, i, n int, opts ...digest.Option) (*Part, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("%w: %d/%d (want 0 <= i < N)", ErrShard, i, n)
	}
	plan, err := PlanRanges(l.Files, shardSize, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Location, err)
	}
	mine := make([]digest.Shard, len(plan.Shards[i]))
	for k, j := range plan.Shards[i] {
		mine[k] = plan.Ranges[j]
	}
	if err := digest.HashSourceShards(ctx, s, mine, opts...); err != nil {
		return nil, fmt.Errorf("%s: %w", l.Location, err)
	}
	p := &Part{Type: ShardPartType, Location: l.Location, Listing: l.Digest, Files: len(l.Files), Shard: i, Shards: n,
		ShardSize: shardSize, Ranges: make([]PartRange, len(mine))}
	for k, r := range mine {
		f := l.Files[plan.File[plan.Shards[i][k]]]
		p.Ranges[k] = PartRange{Name: r.Name, Start: r.Start, End: r.End, SHA256: r.SHA256, Size: f.Size, ETag: f.ETag}
	}
	p.Plan = planDigest(p.Ranges)
	return p, nil
}

// checkRanges is ParsePart's check of a ShardPartType part.
func checkRanges(p *Part) error {
	switch {
	case p.Artifacts != nil:
		return fmt.Errorf("%w: a part of ranges (%s) with whole-file artifacts", ErrPart, ShardPartType)
	case p.ShardSize < 1:
		return fmt.Errorf("%w: shard size %d", ErrPart, p.ShardSize)
	case !strings.HasPrefix(p.Plan, "sha256:") || len(p.Plan) != len("sha256:")+64:
		return fmt.Errorf("%w: plan digest %q", ErrPart, p.Plan)
	}
	names := 0
	for k, r := range p.Ranges {
		if k == 0 || r.Name != p.Ranges[k-1].Name {
			names++
		} else if r.Start <= p.Ranges[k-1].Start {
			return fmt.Errorf("%w: ranges not sorted at %s", ErrPart, r.id())
		}
		if k > 0 && r.Name < p.Ranges[k-1].Name {
			return fmt.Errorf("%w: ranges not sorted at %s", ErrPart, r.id())
		}
		if r.Start < 0 || r.End < r.Start || r.Size < r.End {
			return fmt.Errorf("%w: range %s of a %d-byte file", ErrPart, r.id(), r.Size)
		}
		if len(r.SHA256) != 64 || strings.Trim(r.SHA256, "0123456789abcdef") != "" {
			return fmt.Errorf("%w: range %s: bad digest", ErrPart, r.id())
		}
	}
	if p.Files < names {
		return fmt.Errorf("%w: ranges of %d files in a %d-file listing", ErrPart, names, p.Files)
	}
	return nil
}

// ownedRange is a range and the part that holds it.
type ownedRange struct {
	PartRange
	part *NamedPart
}

// MergeShards checks parts of a sharded digest and returns the manifest
// one process would have computed (digest.ShardedSource), in manifest
// order, and its shard size. Besides what Merge checks of every part, each
// part's ranges must be the ones it records it was given; every range of
// every file must be held exactly once (a duplicated range, or one that
// is not where the file's cut puts it, overlapping others, is refused);
// the files the ranges name must make up the listing; and each part must
// hold exactly the ranges the plan gives its shard. Every refusal is an
// ErrPart error naming a part file.
func MergeShards(parts []NamedPart) ([]digest.Shard, int64, error) {
	byShard, err := checkParts(parts, ShardPartType)
	if err != nil {
		return nil, 0, err
	}
	ref := byShard[0].Part
	size, n := ref.ShardSize, ref.Shards
	var all []ownedRange
	for _, np := range byShard {
		if got := planDigest(np.Part.Ranges); got != np.Part.Plan {
			return nil, 0, fmt.Errorf("%w: %s: its %d ranges are not the ones it records it was given (a range lost, added or changed)",
				ErrPart, np.File, len(np.Part.Ranges))
		}
		for _, r := range np.Part.Ranges {
			all = append(all, ownedRange{r, np})
		}
	}
	slices.SortStableFunc(all, func(a, b ownedRange) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Start, b.Start))
	})

	// Rebuild the listing, checking each file's ranges against its cut.
	var (
		files   []Listed
		missing []PartRange // ranges of a known file no part holds
		out     = make([]digest.Shard, 0, len(all))
	)
	for k := 0; k < len(all); {
		first := all[k]
		files = append(files, Listed{Name: first.Name, Size: first.Size, ETag: first.ETag})
		want := digest.ShardRanges(first.Size, size)
		w := 0
		for ; k < len(all) && all[k].Name == first.Name; k++ {
			r := all[k]
			switch {
			case r.Size != first.Size || r.ETag != first.ETag:
				return nil, 0, fmt.Errorf("%w: %s lists %q with size %d and ETag %s, %s with size %d and ETag %s",
					ErrPart, r.part.File, r.Name, r.Size, r.ETag, first.part.File, first.Size, first.ETag)
			case k > 0 && all[k-1].Name == r.Name && all[k-1].Start == r.Start && all[k-1].End == r.End:
				return nil, 0, fmt.Errorf("%w: range %s is in %s and %s", ErrPart, r.id(), all[k-1].part.File, r.part.File)
			}
			for w < len(want) && want[w][0] < r.Start {
				missing = append(missing, PartRange{Name: r.Name, Start: want[w][0], End: want[w][1]})
				w++
			}
			if w == len(want) || want[w] != [2]int64{r.Start, r.End} {
				return nil, 0, fmt.Errorf("%w: %s holds %s, which is not one of the ranges a %d-byte file is cut into at %d bytes (it overlaps them)",
					ErrPart, r.part.File, r.id(), r.Size, size)
			}
			w++
			out = append(out, digest.Shard{Name: r.Name, Start: r.Start, End: r.End, SHA256: r.SHA256})
		}
		for ; w < len(want); w++ {
			missing = append(missing, PartRange{Name: first.Name, Start: want[w][0], End: want[w][1]})
		}
	}
	if len(files) != ref.Files || ListingDigest(ref.Location, files) != ref.Listing {
		return nil, 0, fmt.Errorf("%w: the parts hold ranges of %d files that do not make up the listing %s of %d files they name",
			ErrPart, len(files), ref.Listing, ref.Files)
	}
	plan, err := PlanRanges(files, size, n)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrPart, err)
	}
	if len(missing) > 0 {
		m := missing[0]
		for i, idx := range plan.Shards {
			for _, j := range idx {
				if r := plan.Ranges[j]; r.Name == m.Name && r.Start == m.Start {
					return nil, 0, fmt.Errorf("%w: no part holds %s (%d ranges missing); the plan gives it to %s",
						ErrPart, m.id(), len(missing), byShard[i].File)
				}
			}
		}
	}
	for i, idx := range plan.Shards {
		got := byShard[i].Part.Ranges
		if len(got) != len(idx) {
			return nil, 0, fmt.Errorf("%w: %s holds %d ranges, the plan gives shard %d %d", ErrPart, byShard[i].File, len(got), i, len(idx))
		}
		for k, j := range idx {
			if r := plan.Ranges[j]; got[k].Name != r.Name || got[k].Start != r.Start {
				return nil, 0, fmt.Errorf("%w: %s holds %s, which the plan gives another shard", ErrPart, byShard[i].File, got[k].id())
			}
		}
	}
	return out, size, nil
}
