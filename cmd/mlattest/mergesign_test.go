package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// linkSubjects reads the subjects of the link statement a bundle signs,
// and its run id.
func linkSubjects(t *testing.T, bundle string) (subjects []string, runID string) {
	t.Helper()
	var st struct {
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			Byproducts map[string]any `json:"byproducts"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(statementOf(t, bundle), &st); err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != "https://in-toto.io/attestation/link/v0.3" {
		t.Fatalf("%s signs a %s, want a link", bundle, st.PredicateType)
	}
	for _, s := range st.Subject {
		subjects = append(subjects, s.Name+"="+s.Digest["sha256"])
	}
	id, _ := st.Predicate.Byproducts["mlattest.dev/run-id"].(string)
	return subjects, id
}

// TestMergeSign: `merge --step --sign-out` signs the merged manifest with a
// key and keylessly (the private stack, token from its OIDC issuer);
// verify-bundle accepts each bundle for the merged files and rejects it
// for another signer; the statement's subjects are exactly those of the
// link `mlattest attest --products LOCATION` signs for the same objects
// digested by one process (named by URI). Manifest output is unchanged by signing.
func TestMergeSign(t *testing.T) {
	s := stacktest.Get(t)
	dir := t.TempDir()
	tree := map[string]string{"empty": "", "odd/with space": "s"}
	for i := range 30 {
		tree[fmt.Sprintf("d/%02d", i)] = strings.Repeat("z", i*37)
	}
	data := filepath.Join(dir, "data")
	writeTree(t, data, tree)
	loc := "file://" + filepath.ToSlash(data)
	parts := filepath.Join(dir, "parts")
	plain := shardedRun(t, dir, nil, loc, parts, 3)
	if plain.code != 0 {
		t.Fatalf("merge: %v", plain)
	}
	keys := t.TempDir()
	if r := mlattest(t, keys, nil, "keygen", "--output-key-prefix", "k", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	if r := mlattest(t, keys, nil, "keygen", "--output-key-prefix", "other", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	key, pub, otherPub := filepath.Join(keys, "k.key"), filepath.Join(keys, "k.pub"), filepath.Join(keys, "other.pub")
	env := stackEnv(s, "")[:2] // signing config and trusted root
	tokFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokFile, s.Token(t, 1, "merger@example.com"))

	// The single-process path: attest the same files as products.
	ref := filepath.Join(t.TempDir(), "ref")
	if r := mlattest(t, dir, env, "attest", "--step", "digest-data", "--run-id", "run-1", "--products", loc, "--out", ref, "--key", key); r.code != 0 {
		t.Fatalf("attest: %v", r)
	}
	want, _ := linkSubjects(t, filepath.Join(ref, "digest-data.link.sigstore.json"))
	if len(want) != len(tree) || !slices.Contains(want, loc+"/empty="+emptySHA256) {
		t.Fatalf("attest's link names %d subjects %v, want %d named by URI", len(want), want, len(tree))
	}

	for _, tc := range []struct {
		name     string
		sign     []string
		accept   []string
		reject   []string
		wantRun  string
		wantNote string
	}{
		{"key", []string{"--key", key, "--run-id", "run-1"}, []string{"--key", pub}, []string{"--key", otherPub}, "run-1", ""},
		{"keyless", []string{"--identity-token-file", tokFile, "--run-id", "run-1"},
			[]string{"--certificate-identity", "merger@example.com", "--certificate-oidc-issuer", s.Issuer1},
			[]string{"--certificate-identity", "someone@example.com", "--certificate-oidc-issuer", s.Issuer1}, "run-1", ""},
		{"keyless, run id made up", []string{"--identity-token-file", tokFile}, nil, nil, "", "new run id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "att")
			r := mlattest(t, dir, env, append(append([]string{"merge", "--step", "digest-data", "--sign-out", out}, tc.sign...), parts)...)
			if r.code != 0 || r.stdout != plain.stdout || !strings.Contains(r.stderr, tc.wantNote) {
				t.Fatalf("merge --sign-out: %v\nwant the plain merge's output", r)
			}
			bundle := filepath.Join(out, "digest-data.link.sigstore.json")
			got, runID := linkSubjects(t, bundle)
			if !slices.Equal(got, want) {
				t.Fatalf("merged link subjects:\n%v\nattest's:\n%v", got, want)
			}
			if tc.wantRun != "" && runID != tc.wantRun || runID == "" {
				t.Errorf("run id %q, want %q", runID, tc.wantRun)
			}
			if tc.accept == nil {
				return
			}
			for _, f := range []string{"empty", "odd/with space", "d/07"} {
				v := mlattest(t, dir, nil, append([]string{"verify-bundle", "--bundle", bundle, "--artifact", filepath.Join(data, f), "--trusted-root", s.TrustedRoot, "--type", "link"}, tc.accept...)...)
				if v.code != 0 {
					t.Fatalf("verify-bundle %s: %v", f, v)
				}
			}
			v := mlattest(t, dir, nil, append([]string{"verify-bundle", "--bundle", bundle, "--artifact", filepath.Join(data, "empty"), "--trusted-root", s.TrustedRoot}, tc.reject...)...)
			if v.code != exitRejected {
				t.Fatalf("verify-bundle as another signer: %v", v)
			}
			other := filepath.Join(t.TempDir(), "not-merged")
			writeFile(t, other, "not among the merged files")
			v = mlattest(t, dir, nil, append([]string{"verify-bundle", "--bundle", bundle, "--artifact", other, "--trusted-root", s.TrustedRoot}, tc.accept...)...)
			if v.code != exitRejected {
				t.Fatalf("verify-bundle of a file not merged: %v", v)
			}
		})
	}
}

// TestMergeSignRefuses: bad signing flags exit 2 before any part is read
// (nothing printed); a statement Fulcio will not certify exits 1 and is
// kept unsigned for `mlattest sign`.
func TestMergeSignRefuses(t *testing.T) {
	s := stacktest.Get(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTree(t, data, map[string]string{"a": "alpha", "b": "beta"})
	parts := filepath.Join(dir, "parts")
	if r := shardedRun(t, dir, nil, "file://"+filepath.ToSlash(data), parts, 2); r.code != 0 {
		t.Fatalf("merge: %v", r)
	}
	env := stackEnv(s, "")[:2]
	tok := filepath.Join(t.TempDir(), "token")
	writeFile(t, tok, s.Token(t, 1, "merger@example.com"))
	taken := filepath.Join(t.TempDir(), "att")
	writeFile(t, filepath.Join(taken, "digest-data.link.sigstore.json"), "{}")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"step without out", []string{"--step", "digest-data", "--identity-token-file", tok}, "signing needs --step NAME and --sign-out"},
		{"out without step", []string{"--sign-out", t.TempDir(), "--identity-token-file", tok}, "signing needs --step NAME and --sign-out"},
		{"sign flag alone", []string{"--identity-token-file", tok}, "signing needs --step NAME and --sign-out"},
		{"bad step", []string{"--step", "a/b", "--sign-out", t.TempDir(), "--identity-token-file", tok}, `step name "a/b"`},
		{"bad run id", []string{"--step", "s", "--run-id", "a b", "--sign-out", t.TempDir(), "--identity-token-file", tok}, `run id "a b"`},
		{"bundle exists", []string{"--step", "digest-data", "--sign-out", taken, "--identity-token-file", tok}, "already exists"},
		{"missing token", []string{"--step", "s", "--sign-out", t.TempDir(), "--identity-token-file", filepath.Join(dir, "none")}, "--identity-token-file"},
		{"key and token", []string{"--step", "s", "--sign-out", t.TempDir(), "--key", "k.key", "--identity-token-file", tok}, "exclusive"},
		{"bad bucket", []string{"--step", "s", "--sign-out", "s3://", "--identity-token-file", tok}, "--sign-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mlattest(t, dir, env, append(append([]string{"merge"}, tc.args...), parts)...)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("%v\nwant exit 2, nothing printed, %q", r, tc.want)
			}
		})
	}
	// Parts of a range-sharded digest hold no files' manifest to sign.
	ranges := filepath.Join(dir, "ranges")
	if w := mlattest(t, dir, nil, "digest", "--sharded", "4B", "--shard", "0/1", "--part-out", ranges, "file://"+filepath.ToSlash(data)); w.code != 0 {
		t.Fatalf("range worker: %v", w)
	}
	if r := mlattest(t, dir, env, "merge", "--step", "s", "--sign-out", t.TempDir(), "--identity-token-file", tok, ranges); r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "sha256-sharded") {
		t.Fatalf("signing range parts: %v\nwant exit 2", r)
	}

	// Nor do a dataset scan's parts.
	names := randomDatasets(t, dir, 1)
	scanParts := filepath.Join(dir, "scan-parts")
	if w := mlattest(t, dir, nil, append([]string{"scan", "data", "--shard", "0/1", "--part-out", scanParts}, names...)...); w.code != 0 {
		t.Fatalf("scan worker: %v", w)
	}
	if r := mlattest(t, dir, env, "merge", "--step", "s", "--sign-out", t.TempDir(), "--identity-token-file", tok, scanParts); r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "dataset scan's parts") {
		t.Fatalf("signing scan parts: %v\nwant exit 2", r)
	}

	// A token whose issuer Fulcio does not trust: the manifest is printed,
	// the statement kept unsigned, exit 1.
	bad := filepath.Join(t.TempDir(), "token")
	writeFile(t, bad, s.UnverifiedToken(t, 1, "merger@example.com"))
	out := filepath.Join(t.TempDir(), "att")
	r := mlattest(t, dir, env, "merge", "--step", "digest-data", "--run-id", "r", "--sign-out", out, "--identity-token-file", bad, parts)
	if r.code != exitRejected || r.stdout == "" || !strings.Contains(r.stderr, "mlattest sign "+out) {
		t.Fatalf("%v\nwant exit 1 with the manifest printed and the statement kept for mlattest sign", r)
	}
	if _, err := os.Stat(filepath.Join(out, "digest-data.link.UNSIGNED.intoto.json")); err != nil {
		t.Fatalf("the unsigned statement was not kept: %v", err)
	}
}
