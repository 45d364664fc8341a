package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/errgroup"
)

// Checkpoint is a log checkpoint whose signature verified with the log key
// of the trusted root.
type Checkpoint struct {
	Origin string
	Size   uint64
	Hash   []byte // the root hash of the first Size entries
	Raw    []byte // the signed note, as served
}

// Log reads one tile-based transparency log (C2SP tlog-tiles, as Rekor v2
// serves it) and checks everything it reads against signed checkpoints.
type Log struct {
	fetch   *fetcher
	logs    map[string]*root.TransparencyLog // by checkpoint origin
	workers int
}

// Option configures a Log.
type Option func(*config) error

type config struct {
	client   *http.Client
	workers  int
	deadline time.Duration
	minWait  time.Duration
	maxWait  time.Duration
}

// newConfig is the defaults with opts applied.
func newConfig(opts []Option) (*config, error) {
	cfg := &config{
		workers:  max(8, 4*runtime.GOMAXPROCS(0)),
		deadline: time.Minute,
		minWait:  200 * time.Millisecond,
		maxWait:  10 * time.Second,
	}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// WithHTTPClient sets the HTTP client (default: 30 s per request).
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		cfg.client = c
		return nil
	}
}

// WithWorkers bounds the number of concurrent fetches and entry parses
// (default: 4 × GOMAXPROCS, at least 8).
func WithWorkers(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 256 {
			return fmt.Errorf("WithWorkers: %d workers, want 1 to 256", n)
		}
		cfg.workers = n
		return nil
	}
}

// WithRetry sets how long one resource is retried (network errors, 5xx,
// 429) before the log counts as unavailable, and the first and longest wait
// between attempts (defaults: 1 minute, 200 ms, 10 s).
func WithRetry(deadline, minWait, maxWait time.Duration) Option {
	return func(cfg *config) error {
		if deadline <= 0 || minWait <= 0 || maxWait < minWait {
			return fmt.Errorf("WithRetry: want deadline > 0 and 0 < minWait <= maxWait, got %s, %s, %s", deadline, minWait, maxWait)
		}
		cfg.deadline, cfg.minWait, cfg.maxWait = deadline, minWait, maxWait
		return nil
	}
}

// Open returns a reader for the log whose checkpoint and tiles are served
// under readURL. The log's key and origin come from the transparency logs of
// tm: a checkpoint counts only when its origin is the host of one log's base
// URL and that log's key signed it.
func Open(readURL string, tm root.TrustedMaterial, opts ...Option) (*Log, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.client == nil {
		// Keep a connection per worker: the default two idle connections
		// per host would make most parallel fetches dial anew.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.workers
		cfg.client = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	u, err := url.Parse(readURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("log URL %q: want http(s)://host[/path]", readURL)
	}
	if tm == nil {
		return nil, errors.New("no trusted root to take the log key from")
	}
	logs := map[string]*root.TransparencyLog{}
	for _, tl := range tm.RekorLogs() {
		bu, err := url.Parse(tl.BaseURL)
		if err != nil || bu.Hostname() == "" || tl.PublicKey == nil {
			continue
		}
		logs[bu.Hostname()] = tl
	}
	if len(logs) == 0 {
		return nil, errors.New("the trusted root names no transparency log with a base URL and a key")
	}
	return &Log{
		fetch: &fetcher{base: u, client: cfg.client, deadline: cfg.deadline, minWait: cfg.minWait, maxWait: cfg.maxWait},
		logs:  logs, workers: cfg.workers,
	}, nil
}

// URL is the log's read URL.
func (l *Log) URL() string { return l.fetch.base.String() }

// Checkpoint fetches and verifies the log's current checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	raw, err := l.fetch.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint: %w", err)
	}
	cp, err := l.VerifyCheckpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.fetch.url(layout.CheckpointPath), err)
	}
	return cp, nil
}

// VerifyCheckpoint checks a signed checkpoint note (one fetched, or one kept
// from an earlier run) against the trusted root's log keys.
func (l *Log) VerifyCheckpoint(raw []byte) (*Checkpoint, error) {
	origin, _, ok := bytes.Cut(raw, []byte("\n"))
	if !ok || len(origin) == 0 {
		return nil, fmt.Errorf("%w: no origin line", ErrCheckpoint)
	}
	tl, ok := l.logs[string(origin)]
	if !ok {
		return nil, fmt.Errorf("%w: origin %q is not a log of the trusted root", ErrCheckpoint, truncate(string(origin), 80))
	}
	v, err := noteVerifier(string(origin), tl)
	if err != nil {
		return nil, err
	}
	c, _, _, err := log.ParseCheckpoint(raw, string(origin), v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if len(c.Hash) != rfc6962.DefaultHasher.Size() {
		return nil, fmt.Errorf("%w: root hash of %d bytes", ErrCheckpoint, len(c.Hash))
	}
	return &Checkpoint{Origin: c.Origin, Size: c.Size, Hash: c.Hash, Raw: bytes.Clone(raw)}, nil
}

// noteVerifier is the checkpoint verifier for tl, as sigstore-go builds it.
func noteVerifier(origin string, tl *root.TransparencyLog) (note.Verifier, error) {
	h := tl.SignatureHashFunc
	if h == 0 {
		h = crypto.SHA256
	}
	sv, err := signature.LoadVerifier(tl.PublicKey, h)
	if err != nil {
		return nil, fmt.Errorf("log key of %s in the trusted root: %w", tl.BaseURL, err)
	}
	v, err := rekornote.NewNoteVerifier(origin, sv)
	if err != nil {
		return nil, fmt.Errorf("log key of %s in the trusted root: %w", tl.BaseURL, err)
	}
	return v, nil
}

// extendsTrivially decides what Consistency can without a proof (done):
// two trees, a rolled-back or forked tree head, the same one, an empty older.
func extendsTrivially(older, newer *Checkpoint) (done bool, err error) {
	switch {
	case older.Origin != newer.Origin:
		return true, inconsistent("tree heads of two trees: origin %q, earlier %q", newer.Origin, older.Origin)
	case newer.Size < older.Size:
		return true, inconsistent("tree size %d is smaller than the %d seen before (rolled back)", newer.Size, older.Size)
	case newer.Size == older.Size:
		if !bytes.Equal(newer.Hash, older.Hash) {
			return true, inconsistent("two different roots for tree size %d (forked)", newer.Size)
		}
		return true, nil
	case older.Size == 0:
		return true, nil
	}
	return false, nil
}

// Consistency proves that newer extends older (same origin, no smaller, and
// a verified consistency proof built from newer's tiles). Any failure is
// ErrInconsistent: one of the two checkpoints describes a history the other
// denies.
func (l *Log) Consistency(ctx context.Context, older, newer *Checkpoint) error {
	if done, err := extendsTrivially(older, newer); done {
		return err
	}
	pb, err := client.NewProofBuilder(ctx, newer.Size, l.fetch.tile)
	if err != nil {
		return err
	}
	p, err := pb.ConsistencyProof(ctx, older.Size, newer.Size)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return err
		}
		return inconsistent("no consistency proof from size %d to %d: %v", older.Size, newer.Size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, older.Size, newer.Size, p, older.Hash, newer.Hash); err != nil {
		// merkle's RootMismatchError prints both roots over several lines.
		return inconsistent("the consistency proof from size %d to %d does not verify", older.Size, newer.Size)
	}
	return nil
}

// Inclusion proves that leafHash is entry index of the tree cp commits to.
func (l *Log) Inclusion(ctx context.Context, cp *Checkpoint, index uint64, leafHash []byte) error {
	if index >= cp.Size {
		return fmt.Errorf("%w: index %d is beyond tree size %d", ErrNotInLog, index, cp.Size)
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, l.fetch.tile)
	if err != nil {
		return err
	}
	p, err := pb.InclusionProof(ctx, index)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return err
		}
		return fmt.Errorf("%w: building the inclusion proof of entry %d: %v", ErrNotInLog, index, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, leafHash, p, cp.Hash); err != nil {
		return fmt.Errorf("%w: the inclusion proof of entry %d in tree size %d does not verify", ErrNotInLog, index, cp.Size)
	}
	return nil
}

// Leaf returns the bytes of entry index, proven included in cp.
func (l *Log) Leaf(ctx context.Context, cp *Checkpoint, index uint64) ([]byte, error) {
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: index %d is beyond tree size %d", ErrNotInLog, index, cp.Size)
	}
	bi := index / layout.EntryBundleWidth
	raw, err := l.fetch.entryBundle(ctx, bi, layout.PartialTileSize(0, bi, cp.Size))
	if err != nil {
		return nil, fmt.Errorf("reading entry %d: %w", index, err)
	}
	var b api.EntryBundle
	if err := b.UnmarshalText(raw); err != nil {
		return nil, tampered("entry bundle %s: %v", layout.EntriesPath(bi, layout.PartialTileSize(0, bi, cp.Size)), err)
	}
	off := index % layout.EntryBundleWidth
	if off >= uint64(len(b.Entries)) {
		return nil, tampered("entry bundle %d has %d entries, entry %d missing", bi, len(b.Entries), index)
	}
	data := b.Entries[off]
	if err := l.Inclusion(ctx, cp, index, rfc6962.DefaultHasher.HashLeaf(data)); err != nil {
		if errors.Is(err, ErrNotInLog) {
			return nil, tampered("entry %d as served is not the entry the checkpoint commits to: %v", index, err)
		}
		return nil, err
	}
	return data, nil
}

// Scan reads entries [from, to) of the tree cp commits to and calls visit for
// each, from up to the Log's worker count of goroutines at once (visit must
// be safe for concurrent use, and keep no reference to data, whose buffer
// is reused once visit returns). Scan returns nil only when every entry was
// proven: the hash tiles' compact range of [0, from), extended by the hashes
// of the entries read, gives the root of tree size to, and that root is cp's
// or consistent with it. Until Scan returns nil nothing visit saw may be
// trusted.
func (l *Log) Scan(ctx context.Context, cp *Checkpoint, from, to uint64, visit func(index uint64, data []byte) error) error {
	var v func() visitFunc
	if visit != nil {
		v = func() visitFunc {
			return func(i uint64, data, _ []byte) error { return visit(i, data) }
		}
	}
	return l.scan(ctx, cp, from, to, v)
}

// visitFunc is what a scan does with entry index, whose leaf hash it has
// (in a buffer the scan reuses once it returns: a visit keeping it copies
// it).
type visitFunc func(index uint64, data, leafHash []byte) error

// scan is Scan, passing visit each entry's leaf hash too, and calling
// newVisit (nil: no visit) once per worker for the visit function of that
// worker, which may keep state of its own without a lock. The workers hash
// the entries (and visit them) bundle by bundle; the hashes extend the
// compact range in index order once all are in.
func (l *Log) scan(ctx context.Context, cp *Checkpoint, from, to uint64, newVisit func() visitFunc) error {
	if from > to || to > cp.Size {
		return fmt.Errorf("entry range [%d, %d) is not within tree size %d", from, to, cp.Size)
	}
	rf := compact.RangeFactory{Hash: hashChildren}
	var rng *compact.Range
	if from == 0 {
		rng = rf.NewEmptyRange(0)
	} else {
		nodes, err := client.FetchRangeNodes(ctx, from, l.fetch.tile)
		if err != nil {
			return wrapFetch(fmt.Sprintf("reading the hash tiles up to entry %d", from), err)
		}
		if rng, err = rf.NewRange(0, from, nodes); err != nil {
			return tampered("hash tiles up to entry %d: %v", from, err)
		}
	}
	// The bundles to read, and each one's leaf hashes (32 bytes each, end
	// to end) and the compact range they make, in index order.
	ranges := slices.Collect(layout.Range(from, to-from, cp.Size))
	parts := make([]bundlePart, len(ranges))
	// Each worker reads a bundle, hashing and visiting its entries as they
	// arrive (while they are in its cache), then takes the next.
	g, gctx := errgroup.WithContext(ctx)
	var taken atomic.Int64
	for range min(l.workers, len(ranges)) {
		g.Go(func() error {
			th := newTreeHasher()
			var visit visitFunc
			if newVisit != nil {
				visit = newVisit()
			}
			for {
				k := taken.Add(1) - 1
				if k >= int64(len(ranges)) {
					return nil
				}
				if err := l.scanBundle(gctx, th, &rf, ranges[k], &parts[k], visit); err != nil {
					return err
				}
			}
		})
	}
	// The leaf hashes are the visits' no longer (see visitFunc).
	defer func() {
		for _, pt := range parts {
			l.fetch.releaseHashes(pt.hashes)
		}
	}()
	if err := g.Wait(); err != nil {
		return err
	}
	for _, pt := range parts {
		if err := rng.AppendRange(pt.rng, nil); err != nil {
			return err
		}
	}
	if rng.End() != to {
		return tampered("read %d entries of [%d, %d)", rng.End()-from, from, to)
	}
	got, err := rng.GetRootHash(nil)
	if err != nil {
		return err
	}
	if to == cp.Size {
		if !bytes.Equal(got, cp.Hash) {
			return l.locate(ctx, cp, from, parts)
		}
		return nil
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, l.fetch.tile)
	if err != nil {
		return err
	}
	p, err := pb.ConsistencyProof(ctx, to, cp.Size)
	if err != nil {
		return wrapFetch(fmt.Sprintf("building the proof from size %d to %d", to, cp.Size), err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, to, cp.Size, p, got, cp.Hash); err != nil {
		return l.locate(ctx, cp, from, parts)
	}
	return nil
}

// bundlePart is what scanning one entry bundle gives: the leaf hashes of
// its entries in the scanned range (32 bytes each, end to end) and their
// compact range.
type bundlePart struct {
	hashes []byte
	rng    *compact.Range
}

// scanBundle reads the entry bundle of ri and, as they arrive, hashes its
// entries in the range with th and visits them, into pt. Working on the
// first entries while the rest are on their way keeps the cores busy at
// the start and end of a scan, when every worker would otherwise wait for
// a whole bundle.
func (l *Log) scanBundle(ctx context.Context, th *treeHasher, rf *compact.RangeFactory, ri layout.RangeInfo, pt *bundlePart, visit visitFunc) error {
	first := ri.Index*layout.EntryBundleWidth + uint64(ri.First)
	pt.hashes = l.fetch.hashBuf(sha256.Size * int(ri.N))
	var fr entryFrames
	// Entries are hashed two at a time (see treeHasher), in the order they
	// arrive, and then visited in that order.
	var pair [2][]byte
	var index [2]uint64
	hashed := func(k int) error {
		n := len(pt.hashes)
		if k == 2 {
			pt.hashes = th.pair(pt.hashes, rfc6962.RFC6962LeafHashPrefix, pair[0], pair[1])
		} else {
			pt.hashes = th.one(pt.hashes, rfc6962.RFC6962LeafHashPrefix, pair[0])
		}
		if visit == nil {
			return nil
		}
		for j := range k {
			h := pt.hashes[n+j*sha256.Size : n+(j+1)*sha256.Size : n+(j+1)*sha256.Size]
			if err := visit(first+index[j]-uint64(ri.First), pair[j], h); err != nil {
				return err
			}
		}
		return nil
	}
	arrived := func(sofar []byte) error {
		k := 0
		for {
			data, i, ok := fr.next(sofar)
			if !ok {
				break
			}
			// A wider bundle than cp's (see partialOrFull) is cut to cp's.
			if i < uint64(ri.First) || i >= uint64(ri.First)+uint64(ri.N) {
				continue
			}
			pair[k], index[k] = data, i
			if k++; k == 2 {
				if err := hashed(2); err != nil {
					return err
				}
				k = 0
			}
		}
		// An odd one out is hashed alone, not held for the next read.
		if k == 1 {
			return hashed(1)
		}
		return nil
	}
	data, err := l.fetch.streamBundle(ctx, ri.Index, ri.Partial, arrived)
	defer l.fetch.release(data)
	var ea errArrived
	switch {
	case errors.As(err, &ea):
		return ea.err
	case err != nil:
		return wrapFetch("reading entry bundles", err)
	}
	if fr.off != len(data) {
		return tampered("entry bundle %s: %d bytes after its last whole entry", layout.EntriesPath(ri.Index, ri.Partial), len(data)-fr.off)
	}
	want := uint64(ri.Partial)
	if want == 0 {
		want = layout.EntryBundleWidth
	}
	if fr.n < want {
		return tampered("entry bundle %s holds %d entries, want %d", layout.EntriesPath(ri.Index, ri.Partial), fr.n, want)
	}
	pt.rng, err = leafRange(th, rf, first, pt.hashes)
	return err
}

// entryFrames walks an entry bundle as its bytes arrive. A C2SP
// tlog-tiles entry bundle is its entries end to end, each after its
// length as a big-endian uint16 (what api.EntryBundle.UnmarshalText reads
// of a whole bundle).
type entryFrames struct {
	off int    // where the next entry's length is
	n   uint64 // entries read
}

// next returns the next entry of the bundle read so far and its index in
// the bundle, when all its bytes are in.
func (f *entryFrames) next(sofar []byte) (entry []byte, index uint64, ok bool) {
	if len(sofar)-f.off < 2 {
		return nil, 0, false
	}
	start := f.off + 2
	end := start + int(binary.BigEndian.Uint16(sofar[f.off:]))
	if end > len(sofar) {
		return nil, 0, false
	}
	f.off = end
	f.n++
	return sofar[start:end], f.n - 1, true
}

// leafRange is the compact range of the leaves from first whose hashes are
// hashes (32 bytes each, end to end). A whole aligned entry bundle is one
// perfect subtree, hashed level by level in a buffer instead of leaf by
// leaf through the range.
func leafRange(th *treeHasher, rf *compact.RangeFactory, first uint64, hashes []byte) (*compact.Range, error) {
	n := uint64(len(hashes) / sha256.Size)
	if n != layout.EntryBundleWidth || first%n != 0 {
		rng := rf.NewEmptyRange(first)
		for i := range n {
			if err := rng.Append(hashes[i*sha256.Size:(i+1)*sha256.Size:(i+1)*sha256.Size], nil); err != nil {
				return nil, err
			}
		}
		return rng, nil
	}
	// Level 1 from hashes, the next levels in place over it, two nodes
	// at a time (see treeHasher: each pair's children are read before its
	// hashes are written).
	if th.level == nil {
		th.level = make([]byte, 0, layout.EntryBundleWidth/2*sha256.Size)
	}
	const children = 2 * sha256.Size
	below := hashes
	for ; n > 1; n /= 2 {
		level := th.level[:0]
		for i := uint64(0); i < n/2; i += 2 {
			if i+1 < n/2 {
				level = th.pair(level, rfc6962.RFC6962NodeHashPrefix, below[i*children:(i+1)*children], below[(i+1)*children:(i+2)*children])
			} else {
				level = th.one(level, rfc6962.RFC6962NodeHashPrefix, below[i*children:(i+1)*children])
			}
		}
		below = level
	}
	return rf.NewRange(first, first+layout.EntryBundleWidth, [][]byte{bytes.Clone(below[:sha256.Size])})
}

// hashChildren is rfc6962.DefaultHasher.HashChildren with one allocation
// (the result) instead of a hasher and its output.
func hashChildren(l, r []byte) []byte {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	var buf [1 + 2*sha256.Size]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], l)
	copy(buf[1+sha256.Size:], r)
	sum := sha256.Sum256(buf[:])
	return sum[:]
}

// locate explains a root mismatch: the first entry whose hash differs from
// the log's level-0 hash tile, or else the hash tiles themselves.
func (l *Log) locate(ctx context.Context, cp *Checkpoint, from uint64, parts []bundlePart) error {
	var leafHashes [][]byte
	for _, pt := range parts {
		for i := 0; i < len(pt.hashes); i += sha256.Size {
			leafHashes = append(leafHashes, pt.hashes[i:i+sha256.Size:i+sha256.Size])
		}
	}
	tiles, err := client.FetchLeafHashes(ctx, l.fetch.tile, from, uint64(len(leafHashes)), cp.Size)
	if err == nil {
		for i, h := range leafHashes {
			if !bytes.Equal(h, tiles[i]) {
				idx := from + uint64(i)
				bi := idx / layout.EntryBundleWidth
				return tampered("entry %d in %s does not hash to the level-0 hash tile, and the entries do not hash to the root of checkpoint size %d",
					idx, layout.EntriesPath(bi, layout.PartialTileSize(0, bi, cp.Size)), cp.Size)
			}
		}
	}
	return tampered("the hash tiles and entries of [%d, %d) do not hash to the root of checkpoint size %d", from, from+uint64(len(leafHashes)), cp.Size)
}

// wrapFetch keeps ErrUnavailable and context errors as they are and calls
// anything else the log served wrong.
func wrapFetch(what string, err error) error {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return tampered("%s: %v", what, err)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
