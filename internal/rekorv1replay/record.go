package rekorv1replay

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // register the kinds
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // whose index keys
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"       // Record computes
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Record builds the answers a Rekor v1 log gave for the entries the bundles
// at paths carry, from their real log entries: each entry's body, log id,
// index, integrated time and signed entry timestamp as logged, with the
// inclusion proof and signed tree head the log issued with it (hashes in
// hex, as the REST API writes them). The index maps every key rekor's own
// entry types index the entry under (IndexKeys) to its entry id, and
// log.json names, per tree, the largest tree head among the entries' (the
// tree of the most recently integrated entry as the active shard). No
// consistency proofs: bundles carry none.
//
// The result maps file names of a recording to their bytes; Record is
// deterministic.
func Record(paths []string) (map[string][]byte, error) {
	files := map[string][]byte{}
	index := map[string][]string{}
	type tree struct {
		sth      *util.SignedCheckpoint
		raw      string
		newest   int64
		treeID   int64
		rootHash []byte
	}
	trees := map[int64]*tree{}
	for _, p := range paths {
		b, err := bundle.LoadJSONFromPath(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, tle := range b.GetVerificationMaterial().GetTlogEntries() {
			ip := tle.GetInclusionProof()
			set := tle.GetInclusionPromise().GetSignedEntryTimestamp()
			if ip == nil || len(set) == 0 {
				return nil, fmt.Errorf("%s: an entry without an inclusion proof and a signed entry timestamp", p)
			}
			raw := ip.GetCheckpoint().GetEnvelope()
			var sth util.SignedCheckpoint
			if err := sth.UnmarshalText([]byte(raw)); err != nil {
				return nil, fmt.Errorf("%s: checkpoint: %w", p, err)
			}
			_, tid, _ := strings.Cut(sth.Origin, " - ")
			treeID, err := strconv.ParseInt(tid, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: checkpoint origin %q has no tree id", p, sth.Origin)
			}
			body := tle.GetCanonicalizedBody()
			id := fmt.Sprintf("%016x%x", treeID, rfc6962.DefaultHasher.HashLeaf(body))
			hashes := make([]string, len(ip.GetHashes()))
			for i, h := range ip.GetHashes() {
				hashes[i] = hex.EncodeToString(h)
			}
			integrated, logIndex, localIndex, treeSize := tle.GetIntegratedTime(), tle.GetLogIndex(), ip.GetLogIndex(), ip.GetTreeSize()
			logID, rootHash, checkpoint := hex.EncodeToString(tle.GetLogId().GetKeyId()), hex.EncodeToString(ip.GetRootHash()), raw
			entry := models.LogEntry{id: models.LogEntryAnon{
				Body:           base64.StdEncoding.EncodeToString(body),
				IntegratedTime: &integrated,
				LogID:          &logID,
				LogIndex:       &logIndex,
				Verification: &models.LogEntryAnonVerification{
					InclusionProof: &models.InclusionProof{
						Checkpoint: &checkpoint, Hashes: hashes, LogIndex: &localIndex,
						RootHash: &rootHash, TreeSize: &treeSize,
					},
					SignedEntryTimestamp: strfmt.Base64(set),
				},
			}}
			if files["entries/"+id+".json"], err = marshal(entry); err != nil {
				return nil, err
			}
			keys, err := indexKeys(body)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			for _, k := range keys {
				index[k] = append(index[k], id)
			}
			t := trees[treeID]
			if t == nil {
				t = &tree{treeID: treeID}
				trees[treeID] = t
			}
			if t.sth == nil || sth.Size > t.sth.Size {
				t.sth, t.raw, t.rootHash = &sth, raw, ip.GetRootHash()
			}
			t.newest = max(t.newest, integrated)
		}
	}
	if len(trees) == 0 {
		return nil, fmt.Errorf("no log entries in %d bundles", len(paths))
	}
	for k, ids := range index {
		slices.Sort(ids)
		index[k] = slices.Compact(ids)
	}
	var all []*tree
	for _, t := range trees {
		all = append(all, t)
	}
	// Active shard first (newest entry), the others by tree id.
	slices.SortFunc(all, func(a, b *tree) int {
		return cmp.Or(cmp.Compare(b.newest, a.newest), cmp.Compare(a.treeID, b.treeID))
	})
	info := func(t *tree) (rootHash, sth, treeID *string, size *int64) {
		r, s, id, n := hex.EncodeToString(t.sth.Hash), t.raw, strconv.FormatInt(t.treeID, 10), int64(t.sth.Size)
		return &r, &s, &id, &n
	}
	li := models.LogInfo{InactiveShards: []*models.InactiveShardLogInfo{}}
	li.RootHash, li.SignedTreeHead, li.TreeID, li.TreeSize = info(all[0])
	for _, t := range all[1:] {
		s := &models.InactiveShardLogInfo{}
		s.RootHash, s.SignedTreeHead, s.TreeID, s.TreeSize = info(t)
		li.InactiveShards = append(li.InactiveShards, s)
	}
	var err error
	if files["log.json"], err = marshal(li); err != nil {
		return nil, err
	}
	if files["index.json"], err = marshal(index); err != nil {
		return nil, err
	}
	return files, nil
}

// indexKeys are the keys rekor indexes an entry body under, lowercased as
// its index search looks them up.
func indexKeys(body []byte) ([]string, error) {
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		return nil, err
	}
	impl, err := types.UnmarshalEntry(pe)
	if err != nil {
		return nil, err
	}
	keys, err := impl.IndexKeys()
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		keys[i] = strings.ToLower(k)
	}
	return keys, nil
}

func marshal(v any) ([]byte, error) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// Recordings names the recordings tests use and the conformance bundles
// (relative to ../shared/conformance) each is built from. They are built
// when a test runs, never kept in the repository: ../shared/conformance is
// other projects' data, read in place.
var Recordings = map[string][]string{
	// The public-good log: hashedrekord 0.0.1 (tree 2605736670972794746)
	// and dsse 0.0.1 (tree 1193050959916656506; the model-signing ones
	// signed by stefanb@us.ibm.com).
	"publicgood": {
		"sigstore-bundle-verify/happy-path-v0.1/bundle.sigstore.json",
		"sigstore-bundle-verify/happy-path-v0.3/bundle.sigstore.json",
		"sigstore-bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json",
		"model-signing/v0.3.1-sigstore/model.sig",
		"model-signing/v1.0.0-sigstore/model.sig",
		"model-signing/v1.0.1-sigstore/model.sig",
		"model-signing/v1.1.0-sigstore/model.sig",
	},
	// intoto 0.0.2 in the conformance suite's own log (verified with that
	// case's trusted_root.json).
	"intoto-custom-root": {
		"sigstore-bundle-verify/intoto-with-custom-trust-root/bundle.sigstore.json",
	},
}

// Conformance writes the recording name of Recordings into a new temporary
// directory and returns it; tests may edit the files there to tamper with
// what Handler serves.
func Conformance(t testing.TB, name string) string {
	t.Helper()
	bundles, ok := Recordings[name]
	if !ok {
		t.Fatalf("rekorv1replay: no recording %q", name)
	}
	conf := repotest.Conformance(t)
	paths := make([]string, len(bundles))
	for i, b := range bundles {
		paths[i] = filepath.Join(conf, b)
	}
	files, err := Record(paths)
	if err != nil {
		t.Fatalf("rekorv1replay: recording %s: %v", name, err)
	}
	dir := t.TempDir()
	if err := Write(dir, files); err != nil {
		t.Fatalf("rekorv1replay: %v", err)
	}
	return dir
}

// Write writes a recording's files under dir.
func Write(dir string, files map[string][]byte) error {
	for name, raw := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}
