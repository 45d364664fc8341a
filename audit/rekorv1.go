package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/strfmt"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/client/index"
	"github.com/sigstore/rekor/pkg/generated/client/tlog"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/util"
	rekorverify "github.com/sigstore/rekor/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/sync/errgroup"
)

// RekorV1 reads a Rekor v1 log (the public-good log most existing bundles
// point to) through its REST API, with rekor's own generated client, and
// checks what it reads with rekor's verification helpers: every entry's
// inclusion proof against its signed tree head, the tree head's signature
// and the signed entry timestamp with the log key of the trusted root, and
// consistency proofs between tree heads.
//
// Unlike a tile log, a Rekor v1 log cannot be scanned: its search is its
// server-side index, so Search finds only what the index returns (every
// entry returned is proven and re-matched locally, but an entry the index
// leaves out is not seen).
type RekorV1 struct {
	url     string
	api     *client.Rekor
	byID    map[string]*root.TransparencyLog   // by hex log id
	byHost  map[string][]*root.TransparencyLog // by base URL host (checkpoint origins name it)
	workers int
	timeout time.Duration
}

// OpenRekorV1 returns a reader for the Rekor v1 log served at baseURL (the
// host, e.g. https://rekor.sigstore.dev). Log keys come from the
// transparency logs of tm: an entry counts only when its log id is one of
// them, and a tree head only when its origin names that log's host and its
// key signed it. WithWorkers and WithRetry apply (the retry deadline also
// bounds each request); WithHTTPClient does not (rekor's client brings its
// own).
func OpenRekorV1(baseURL string, tm root.TrustedMaterial, opts ...Option) (*RekorV1, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("log URL %q: want http(s)://host[/path]", baseURL)
	}
	if tm == nil {
		return nil, errors.New("no trusted root to take the log key from")
	}
	l := &RekorV1{url: strings.TrimSuffix(baseURL, "/"), byID: map[string]*root.TransparencyLog{},
		byHost: map[string][]*root.TransparencyLog{}, workers: cfg.workers, timeout: cfg.deadline}
	for id, tl := range tm.RekorLogs() {
		if tl == nil || tl.PublicKey == nil {
			continue
		}
		l.byID[strings.ToLower(id)] = tl
		if bu, err := url.Parse(tl.BaseURL); err == nil && bu.Host != "" {
			l.byHost[bu.Host] = append(l.byHost[bu.Host], tl)
		}
	}
	if len(l.byID) == 0 {
		return nil, errors.New("the trusted root names no transparency log with a key")
	}
	// Retry as often as the waits fit in the deadline; the deadline itself
	// bounds each call (see call).
	var retries uint
	for total, w := time.Duration(0), cfg.minWait; total+w <= cfg.deadline; w = min(2*w, cfg.maxWait) {
		total += w
		retries++
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + client.DefaultBasePath
	l.api, err = rekorclient.GetRekorClient(u.String(), rekorclient.WithRetryCount(retries),
		rekorclient.WithRetryWaitMin(cfg.minWait), rekorclient.WithRetryWaitMax(cfg.maxWait),
		rekorclient.WithUserAgent("mlattest-audit"))
	if err != nil {
		return nil, fmt.Errorf("log URL %q: %w", baseURL, err)
	}
	return l, nil
}

// URL is the log's base URL.
func (l *RekorV1) URL() string { return l.url }

// call runs one API request within the retry deadline and sorts its
// failure: no answer is ErrUnavailable; an answer that is an error status
// is returned as is (the caller knows what a 404 means); anything else the
// client could not read is ErrTampered.
func call[T any](ctx context.Context, l *RekorV1, path string, do func(context.Context) (T, error)) (T, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	v, err := do(ctx)
	if err == nil {
		return v, nil
	}
	var zero T
	var ue *url.Error
	var answered interface{ IsClientError() bool }
	switch {
	case errors.As(err, &ue):
		attempts := 1
		if _, after, ok := strings.Cut(err.Error(), "giving up after "); ok {
			if n, perr := strconv.Atoi(strings.Fields(after)[0]); perr == nil {
				attempts = n
			}
		}
		return zero, &UnavailableError{URL: l.url + path, Attempts: attempts, Elapsed: time.Since(start).Round(time.Millisecond), Err: err}
	case errors.As(err, &answered):
		return zero, fmt.Errorf("%s%s: %w", l.url, path, err)
	}
	return zero, tampered("%s%s: unreadable answer: %s", l.url, path, truncate(oneLineErr(err), 300))
}

// V1Tree is a Rekor v1 log's state: the active shard's signed tree head and
// the frozen ones of its inactive shards, every one verified.
type V1Tree struct {
	Active   *Checkpoint
	Inactive []*Checkpoint
}

// LogInfo fetches and verifies the log's current tree heads.
func (l *RekorV1) LogInfo(ctx context.Context) (*V1Tree, error) {
	const path = "/api/v1/log"
	res, err := call(ctx, l, path, func(ctx context.Context) (*tlog.GetLogInfoOK, error) {
		return l.api.Tlog.GetLogInfoContext(ctx, tlog.NewGetLogInfoParamsWithContext(ctx))
	})
	if err != nil {
		return nil, err
	}
	info := res.GetPayload()
	if info == nil || info.Validate(strfmt.Default) != nil {
		return nil, tampered("%s%s: malformed log info", l.url, path)
	}
	active, err := l.treeHead(*info.SignedTreeHead, *info.TreeID, *info.TreeSize, *info.RootHash)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", l.url, path, err)
	}
	t := &V1Tree{Active: active}
	for _, s := range info.InactiveShards {
		cp, err := l.treeHead(*s.SignedTreeHead, *s.TreeID, *s.TreeSize, *s.RootHash)
		if err != nil {
			return nil, fmt.Errorf("%s%s: inactive shard: %w", l.url, path, err)
		}
		t.Inactive = append(t.Inactive, cp)
	}
	return t, nil
}

// treeHead verifies a signed tree head and that the fields served beside it
// say the same.
func (l *RekorV1) treeHead(sth, treeID string, size int64, rootHash string) (*Checkpoint, error) {
	cp, err := l.VerifyCheckpoint([]byte(sth), nil)
	if err != nil {
		return nil, err
	}
	if id, _ := v1TreeID(cp.Origin); id != treeID || size < 0 || uint64(size) != cp.Size || !strings.EqualFold(rootHash, hex.EncodeToString(cp.Hash)) {
		return nil, tampered("tree %s size %d root %s served beside a tree head for %q size %d", truncate(treeID, 40), size, truncate(rootHash, 80), cp.Origin, cp.Size)
	}
	return cp, nil
}

// VerifyCheckpoint checks a Rekor v1 signed tree head: its origin
// ("HOST - TREEID") must name the host of a log of the trusted root (of tl,
// when given) and that log's key must have signed it.
func (l *RekorV1) VerifyCheckpoint(raw []byte, tl *root.TransparencyLog) (*Checkpoint, error) {
	var sth util.SignedCheckpoint
	if err := sth.UnmarshalText(raw); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCheckpoint, truncate(oneLineErr(err), 200))
	}
	host, _, ok := strings.Cut(sth.Origin, " - ")
	if _, err := v1TreeID(sth.Origin); !ok || err != nil {
		return nil, fmt.Errorf("%w: origin %q is not \"HOST - TREEID\"", ErrCheckpoint, truncate(sth.Origin, 80))
	}
	candidates := l.byHost[host]
	if tl != nil {
		candidates = nil
		if bu, err := url.Parse(tl.BaseURL); err == nil && bu.Host == host {
			candidates = []*root.TransparencyLog{tl}
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("%w: origin %q is not a log of the trusted root", ErrCheckpoint, truncate(sth.Origin, 80))
	}
	if len(sth.Hash) != rfc6962.DefaultHasher.Size() {
		return nil, fmt.Errorf("%w: root hash of %d bytes", ErrCheckpoint, len(sth.Hash))
	}
	for _, c := range candidates {
		v, err := logVerifier(c)
		if err != nil {
			return nil, err
		}
		if sth.Verify(v) {
			return &Checkpoint{Origin: sth.Origin, Size: sth.Size, Hash: sth.Hash, Raw: raw}, nil
		}
	}
	return nil, fmt.Errorf("%w: the tree head of %q size %d is not signed by the key of that log in the trusted root", ErrCheckpoint, sth.Origin, sth.Size)
}

func logVerifier(tl *root.TransparencyLog) (signature.Verifier, error) {
	h := tl.SignatureHashFunc
	if h == 0 {
		h = crypto.SHA256
	}
	v, err := signature.LoadVerifier(tl.PublicKey, h)
	if err != nil {
		return nil, fmt.Errorf("log key of %s in the trusted root: %w", tl.BaseURL, err)
	}
	return v, nil
}

// v1TreeID is the tree id of a Rekor v1 origin "HOST - TREEID".
func v1TreeID(origin string) (string, error) {
	_, id, ok := strings.Cut(origin, " - ")
	if !ok {
		return "", errors.New("no tree id")
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return "", err
	}
	return id, nil
}

// Consistency proves with the log's consistency proof (rekor's
// ProveConsistency) that newer extends older, two verified tree heads of one
// shard. Any failure but an unavailable log is ErrInconsistent.
func (l *RekorV1) Consistency(ctx context.Context, older, newer *Checkpoint) error {
	if done, err := extendsTrivially(older, newer); done {
		return err
	}
	treeID, _ := v1TreeID(newer.Origin)
	oldSTH := &util.SignedCheckpoint{Checkpoint: util.Checkpoint{Origin: older.Origin, Size: older.Size, Hash: older.Hash}}
	newSTH := &util.SignedCheckpoint{Checkpoint: util.Checkpoint{Origin: newer.Origin, Size: newer.Size, Hash: newer.Hash}}
	path := fmt.Sprintf("/api/v1/log/proof?firstSize=%d&lastSize=%d&treeID=%s", older.Size, newer.Size, treeID)
	_, err := call(ctx, l, path, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, rekorverify.ProveConsistency(ctx, l.api, oldSTH, newSTH, treeID)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnavailable):
		return err
	}
	return inconsistent("the consistency proof of %q from size %d to %d does not verify: %s", newer.Origin, older.Size, newer.Size, truncate(oneLineErr(err), 300))
}

// EntryByIndex fetches entry index (the log's global index across shards),
// proven included in its signed tree head. The tree head is returned too.
func (l *RekorV1) EntryByIndex(ctx context.Context, index int64) (*Entry, *Checkpoint, error) {
	path := fmt.Sprintf("/api/v1/log/entries?logIndex=%d", index)
	res, err := call(ctx, l, path, func(ctx context.Context) (*entries.GetLogEntryByIndexOK, error) {
		return l.api.Entries.GetLogEntryByIndexContext(ctx, entries.NewGetLogEntryByIndexParamsWithContext(ctx).WithLogIndex(index))
	})
	if err != nil {
		return nil, nil, notFound(err, "entry %d", index)
	}
	id, e, err := oneEntry(res.GetPayload())
	if err != nil {
		return nil, nil, fmt.Errorf("%s%s: %w", l.url, path, err)
	}
	if e.LogIndex == nil || *e.LogIndex != index {
		return nil, nil, tampered("%s%s: the log answered with another entry", l.url, path)
	}
	return l.verifyEntry(ctx, id, e)
}

// EntryByUUID fetches the entry with this UUID (64 hex digits) or entry id
// (tree id and UUID, 80), proven included in its signed tree head.
func (l *RekorV1) EntryByUUID(ctx context.Context, id string) (*Entry, *Checkpoint, error) {
	want, err := entryUUID(strings.ToLower(id))
	if err != nil {
		return nil, nil, fmt.Errorf("entry UUID %q: %w", truncate(id, 100), err)
	}
	path := "/api/v1/log/entries/" + id
	res, err := call(ctx, l, path, func(ctx context.Context) (*entries.GetLogEntryByUUIDOK, error) {
		return l.api.Entries.GetLogEntryByUUIDContext(ctx, entries.NewGetLogEntryByUUIDParamsWithContext(ctx).WithEntryUUID(id))
	})
	if err != nil {
		return nil, nil, notFound(err, "entry %s", id)
	}
	got, e, err := oneEntry(res.GetPayload())
	if err != nil {
		return nil, nil, fmt.Errorf("%s%s: %w", l.url, path, err)
	}
	gotUUID, err := entryUUID(strings.ToLower(got))
	if err != nil || gotUUID != want || (len(id) == entryIDLen && !strings.EqualFold(got, id)) {
		return nil, nil, tampered("%s%s: the log answered with entry %q", l.url, path, truncate(got, 100))
	}
	return l.verifyEntry(ctx, got, e)
}

// notFound turns the log's "no such entry" answer into ErrNotInLog.
func notFound(err error, format string, args ...any) error {
	var coded interface{ IsCode(int) bool }
	if errors.As(err, &coded) && coded.IsCode(404) {
		return fmt.Errorf("%w: the log has no %s", ErrNotInLog, fmt.Sprintf(format, args...))
	}
	return err
}

func oneEntry(le models.LogEntry) (string, models.LogEntryAnon, error) {
	if len(le) != 1 {
		return "", models.LogEntryAnon{}, tampered("%d entries in the answer, want 1", len(le))
	}
	for id, e := range le {
		return id, e, nil
	}
	panic("unreachable")
}

// verifyEntry checks an entry the log served under id: its body hashes to
// id's UUID, its log is one of the trusted root's, valid at its integrated
// time, and rekor's VerifyLogEntry holds (inclusion proof up to the root of
// the signed tree head, the tree head's signature, the signed entry
// timestamp). Only then is the body parsed.
func (l *RekorV1) verifyEntry(ctx context.Context, id string, e models.LogEntryAnon) (*Entry, *Checkpoint, error) {
	where := "entry " + truncate(id, 100)
	if err := e.Validate(strfmt.Default); err != nil {
		return nil, nil, tampered("%s: malformed: %s", where, truncate(oneLineErr(err), 300))
	}
	b64, ok := e.Body.(string)
	if !ok {
		return nil, nil, tampered("%s: body is not a string", where)
	}
	body, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, nil, tampered("%s: body: %v", where, err)
	}
	uuid, err := entryUUID(strings.ToLower(id))
	if err != nil {
		return nil, nil, tampered("%s: %v", where, err)
	}
	if leaf := rfc6962.DefaultHasher.HashLeaf(body); hex.EncodeToString(leaf) != uuid {
		return nil, nil, tampered("%s: the body does not hash to the entry's UUID", where)
	}
	tl, ok := l.byID[strings.ToLower(*e.LogID)]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s is in log %s, not a log of the trusted root", ErrCheckpoint, where, truncate(*e.LogID, 80))
	}
	integrated := time.Unix(*e.IntegratedTime, 0).UTC()
	if integrated.Before(tl.ValidityPeriodStart) || (!tl.ValidityPeriodEnd.IsZero() && integrated.After(tl.ValidityPeriodEnd)) {
		return nil, nil, fmt.Errorf("%w: %s integrated at %s, outside the validity of the log key of %s", ErrCheckpoint, where, integrated.Format(time.RFC3339), tl.BaseURL)
	}
	if e.Verification == nil || e.Verification.InclusionProof == nil || e.Verification.SignedEntryTimestamp == nil {
		return nil, nil, fmt.Errorf("%w: %s comes without an inclusion proof and a signed entry timestamp", ErrNotInLog, where)
	}
	ip := e.Verification.InclusionProof
	cp, err := l.VerifyCheckpoint([]byte(*ip.Checkpoint), tl)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	if uint64(*ip.TreeSize) != cp.Size || *ip.LogIndex >= *ip.TreeSize {
		return nil, nil, fmt.Errorf("%w: %s: inclusion proof of index %d in tree size %d, under a tree head of size %d", ErrNotInLog, where, *ip.LogIndex, *ip.TreeSize, cp.Size)
	}
	if err := rekorverify.VerifyInclusion(ctx, &e); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: the inclusion proof does not verify: %s", ErrNotInLog, where, truncate(oneLineErr(err), 200))
	}
	v, err := logVerifier(tl)
	if err != nil {
		return nil, nil, err
	}
	if err := rekorverify.VerifyCheckpointSignature(&e, v); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrNotInLog, where, truncate(oneLineErr(err), 200))
	}
	if err := rekorverify.VerifySignedEntryTimestamp(ctx, &e, v); err != nil {
		return nil, nil, tampered("%s: the signed entry timestamp does not verify with the log key: %s", where, truncate(oneLineErr(err), 200))
	}
	if *e.LogIndex < 0 {
		return nil, nil, tampered("%s: log index %d", where, *e.LogIndex)
	}
	entry, err := ParseRekorV1Entry(uint64(*e.LogIndex), body)
	if err != nil {
		// Proven in the log but unreadable: say which entry.
		return &Entry{Index: uint64(*e.LogIndex), UUID: strings.ToLower(id)}, cp, err
	}
	entry.UUID = strings.ToLower(id)
	entry.IntegratedTime = &integrated
	return entry, cp, nil
}

// Rekor v1 entry ids: a UUID (the leaf hash, 64 hex digits), optionally
// after the 16 hex digits of its shard's tree id. (rekor's sharding package
// says the same but brings the server's KMS signers with it.)
const (
	uuidLen    = 64
	entryIDLen = 16 + uuidLen
)

// entryUUID is the UUID of an entry id or UUID, lowercase.
func entryUUID(id string) (string, error) {
	id = strings.ToLower(id)
	if (len(id) != uuidLen && len(id) != entryIDLen) || strings.Trim(id, "0123456789abcdef") != "" {
		return "", fmt.Errorf("want %d or %d hex digits", uuidLen, entryIDLen)
	}
	return id[len(id)-uuidLen:], nil
}

// Search asks the log's index for the entries matching q and returns those
// that, fetched and proven included in their signed tree heads, match q
// (the index is the server's word; each entry is re-matched locally), in
// index order. The index is searched by an exact identity (an email or
// another SAN such as a GitHub workflow URI) and a SHA-256 or SHA-512
// digest (both when both are given); regexps, issuer and key id only narrow
// what it returns. Result.Checkpoint is the log's current tree head; the
// tree heads of the entries must agree with it and each other (ErrInconsistent
// for two roots of one size).
func (l *RekorV1) Search(ctx context.Context, q Query) (*Result, error) {
	m, err := q.compile()
	if err != nil {
		return nil, err
	}
	si := &models.SearchIndex{}
	if q.Subject != "" {
		if strings.Contains(q.Subject, "@") && !strings.Contains(q.Subject, ":") {
			si.Email = strfmt.Email(q.Subject)
		} else {
			si.Subject = q.Subject
		}
	}
	if m.digHex != "" {
		if m.digestAlg == "sha384" {
			return nil, fmt.Errorf("%w: a Rekor v1 index holds sha256 and sha512 digests, not sha384", ErrQuery)
		}
		si.Hash = m.digestAlg + ":" + m.digHex
	}
	switch {
	case q.Subject == "" && si.Hash == "":
		return nil, fmt.Errorf("%w: a Rekor v1 log is searched through its index: give an exact identity or a digest (regexps, issuers and key ids only narrow what it finds)", ErrQuery)
	case q.Subject != "" && si.Hash != "":
		si.Operator = "and"
	}
	tree, err := l.LogInfo(ctx)
	if err != nil {
		return nil, err
	}
	const path = "/api/v1/index/retrieve"
	res, err := call(ctx, l, path, func(ctx context.Context) (*index.SearchIndexOK, error) {
		return l.api.Index.SearchIndexContext(ctx, index.NewSearchIndexParamsWithContext(ctx).WithQuery(si))
	})
	if err != nil {
		return nil, err
	}
	ids := slices.Compact(slices.Sorted(slices.Values(res.GetPayload())))
	out := &Result{Checkpoint: tree.Active}
	// Every tree head seen in this search must tell one history: two of
	// one tree and size with different roots mean the log shows forks.
	heads := map[string]*Checkpoint{}
	see := func(cp *Checkpoint) error {
		k := fmt.Sprintf("%s\n%d", cp.Origin, cp.Size)
		if h, ok := heads[k]; ok && !bytes.Equal(h.Hash, cp.Hash) {
			return inconsistent("two tree heads of %q for size %d with different roots (forked)", cp.Origin, cp.Size)
		}
		heads[k] = cp
		return nil
	}
	for _, cp := range append([]*Checkpoint{tree.Active}, tree.Inactive...) {
		if err := see(cp); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.workers)
	for _, id := range ids {
		g.Go(func() error {
			e, cp, err := l.EntryByUUID(gctx, id)
			mu.Lock()
			defer mu.Unlock()
			if cp != nil {
				if err := see(cp); err != nil {
					return err
				}
			}
			switch {
			case errors.Is(err, ErrEntry):
				out.Unreadable = append(out.Unreadable, UnreadableEntry{Index: unreadableIndex(e), Reason: err.Error()})
			case err != nil:
				return err
			case m.match(e):
				out.Matches = append(out.Matches, e)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Matches, func(a, b *Entry) int { return cmp.Compare(a.Index, b.Index) })
	slices.SortFunc(out.Unreadable, func(a, b UnreadableEntry) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

func unreadableIndex(e *Entry) uint64 {
	if e == nil {
		return 0
	}
	return e.Index
}

// VerifyBundle fetches the entry the bundle's Rekor v1 log entry names (by
// its index) from the log, proven included in the log's signed tree head,
// checks that it is the bundle's entry and logs the bundle's signature, and
// proves the tree head the bundle was issued with consistent with the log's.
func (l *RekorV1) VerifyBundle(ctx context.Context, b *bundle.Bundle) (*BundleEntry, error) {
	tle, err := bundleTlogEntry(b)
	if err != nil {
		return nil, err
	}
	e, cp, err := l.EntryByIndex(ctx, tle.GetLogIndex())
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(e.LeafHash, rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody())) {
		return nil, fmt.Errorf("%w: the log's entry %d is not the bundle's", ErrNotInLog, e.Index)
	}
	if err := matchesBundle(e, b); err != nil {
		return nil, err
	}
	out := &BundleEntry{Entry: e, Checkpoint: cp}
	if env := tle.GetInclusionProof().GetCheckpoint().GetEnvelope(); env != "" {
		bcp, err := l.VerifyCheckpoint([]byte(env), nil)
		if err != nil {
			return nil, fmt.Errorf("the bundle's checkpoint: %w", err)
		}
		if err := l.Consistency(ctx, bcp, cp); err != nil {
			return nil, err
		}
		out.BundleCheckpoint = bcp
	}
	return out, nil
}
