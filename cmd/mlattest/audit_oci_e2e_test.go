package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestE2EAuditMonitorOCI: monitor's attestation store is an OCI repository
// holding the bundles push attached. A functionary's entry whose bundle was
// never pushed raises the alarm naming it (exit 1); with every bundle
// pushed, under one tag or several, nothing does (exit 0); a store that
// cannot be read is exit 2 with the state unchanged.
func TestE2EAuditMonitorOCI(t *testing.T) {
	s := stacktest.Get(t)
	readURL := s.ReadURL(t)
	alice := "monitor-oci-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@example.com"
	work := t.TempDir()
	layout := filepath.Join(work, "layout.yaml")
	writeFile(t, layout, "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  trainer:\n    keyless:\n      issuer: "+s.Issuer1+
		"\n      subject: "+alice+"\nsteps:\n  - name: s0\n    functionaries: [trainer]\nsubject:\n  step: s0\n")
	env := []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot, "MLATTEST_REKOR_READ_URL=" + readURL}
	empty := filepath.Join(work, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(work, "base.json")
	if r := mlattest(t, work, env, "audit", "monitor", "--state", base, "--layout", layout, "--attestations", empty); r.code != 0 {
		t.Fatalf("first run: %v", r)
	}
	signs := filepath.Join(work, "signs")
	all := signedEntriesIn(t, signs, s, 1, alice, 2)
	unpushed := map[uint64]bool{}
	out1, _ := filepath.Glob(filepath.Join(signs, "out1", "*.sigstore.json"))
	for _, f := range out1 {
		unpushed[bundleLogIndex(t, f)] = true
	}
	writeFile(t, filepath.Join(work, "release", "model.safetensors"), "weights")

	monitor := func(t *testing.T, stores ...string) (cliResult, monitorOut, string) {
		t.Helper()
		state := filepath.Join(t.TempDir(), "state.json")
		b, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, state, string(b))
		args := []string{"audit", "monitor", "--json", "--state", state, "--layout", layout}
		for _, st := range stores {
			args = append(args, "--attestations", st)
		}
		r := mlattest(t, work, env, args...)
		var out monitorOut
		if r.code < 2 {
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("%v: %v", err, r)
			}
		}
		after, _ := os.ReadFile(state)
		return r, out, string(after)
	}
	for _, kind := range stacktest.RegistryKinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := stacktest.StartRegistry(t, kind)
			repo := reg.Ref("acme/audited")
			if r := mlattest(t, work, nil, "push", "release", repo+":v1", "--attestations", filepath.Join(signs, "out0")); r.code != 0 {
				t.Fatalf("push: %v", r)
			}

			r, got, _ := monitor(t, repo+":v1")
			if r.code != 1 || len(got.Alarms) != len(unpushed) || len(got.FunctionaryEntries) != len(all) {
				t.Fatalf("one step's bundles unpushed: want exit 1 with %d alarms: %v", len(unpushed), r)
			}
			for _, a := range got.Alarms {
				if a.Code != "unknown-attestation" || !unpushed[a.Index] {
					t.Fatalf("unexpected alarm %+v (unpushed %v): %v", a, unpushed, r)
				}
				if !strings.Contains(r.stdout, fmt.Sprintf("entry %d: functionary trainer (%s from %s) signed", a.Index, alice, s.Issuer1)) {
					t.Fatalf("the alarm does not name the functionary: %v", r)
				}
			}

			// The other step's bundles pushed under another tag of the
			// repository: the repository, or both tags, know them all.
			if r := mlattest(t, work, nil, "push", "release", repo+":v2", "--attestations", filepath.Join(signs, "out1")); r.code != 0 {
				t.Fatalf("push: %v", r)
			}
			for _, stores := range [][]string{{repo}, {repo + ":v1", repo + ":v2"}} {
				r, got, _ := monitor(t, stores...)
				var idx []uint64
				for _, e := range got.FunctionaryEntries {
					idx = append(idx, e.Index)
				}
				if r.code != 0 || len(got.Alarms) != 0 || !slices.Equal(idx, all) {
					t.Fatalf("%v: everything pushed: want exit 0 listing %v: %v", stores, all, r)
				}
			}

			// A store that cannot be read: exit 2, one line, no state change.
			before, _ := os.ReadFile(base)
			r, _, after := monitor(t, repo+":missing")
			if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, repo+":missing") || after != string(before) {
				t.Fatalf("unreadable store: want exit 2 in one line naming it, state unchanged: %v", r)
			}
		})
	}
}
