package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/rekorv1replay"
	"github.com/mlattest/mlattest/internal/repotest"
)

// serveRekorV1 serves the recorded Rekor v1 answers NAME of
// rekorv1replay.Recordings (real public-good entries of the conformance
// bundles); tests edit the files under dir to tamper with what the log serves.
func serveRekorV1(t *testing.T, name string) (url, dir string) {
	t.Helper()
	dir = rekorv1replay.Conformance(t, name)
	srv := httptest.NewServer(rekorv1replay.Handler(dir))
	t.Cleanup(srv.Close)
	return srv.URL, dir
}

// TestE2EAuditRekorV1 runs audit entry and audit search through the binary
// against a Rekor v1 server answering with recorded public-good entries:
// the conformance bundles' entries are re-proven, found by email and by
// SHA-256, and a tampered answer, a wrong log key or a log that is down
// fail with their reason and exit code.
func TestE2EAuditRekorV1(t *testing.T) {
	url, dir := serveRekorV1(t, "publicgood")
	conf := repotest.Conformance(t)
	pg := filepath.Join(conf, "trusted_root.public-good.json")
	base := []string{"--log", url, "--trusted-root", pg, "--retry-deadline", "2s"}
	wd := t.TempDir()

	type entryOut struct {
		Bundle string `json:"bundle"`
		Entry  struct {
			Index          uint64 `json:"index"`
			Kind           string `json:"kind"`
			UUID           string `json:"uuid"`
			IntegratedTime string `json:"integratedTime"`
			Signers        []struct {
				Subject string `json:"subject"`
				Issuer  string `json:"issuer"`
			} `json:"signers"`
		} `json:"entry"`
		BundleCheckpointSize uint64 `json:"bundleCheckpointSize"`
		Checkpoint           struct {
			Origin string `json:"origin"`
			Size   uint64 `json:"size"`
		} `json:"checkpoint"`
		Included bool `json:"included"`
	}
	for _, c := range []struct {
		bundle, kind, subject string
		index, size           uint64
	}{
		{"sigstore-bundle-verify/happy-path-v0.3/bundle.sigstore.json", "hashedrekord", "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main", 79571823, 75408393},
		{"sigstore-bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json", "dsse", "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main", 155690850, 33786589},
		{"model-signing/v1.1.0-sigstore/model.sig", "dsse", "stefanb@us.ibm.com", 598151086, 476246825},
	} {
		t.Run("entry "+filepath.Base(filepath.Dir(c.bundle)), func(t *testing.T) {
			r := mlattest(t, wd, nil, append([]string{"audit", "entry", filepath.Join(conf, c.bundle), "--json"}, base...)...)
			if r.code != 0 {
				t.Fatal(r)
			}
			var out entryOut
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("%v: %s", err, r.stdout)
			}
			e := out.Entry
			if !out.Included || e.Index != c.index || e.Kind != c.kind || len(e.UUID) != 80 || e.IntegratedTime == "" ||
				len(e.Signers) != 1 || e.Signers[0].Subject != c.subject || out.Checkpoint.Size != c.size || out.BundleCheckpointSize != c.size ||
				!strings.HasPrefix(out.Checkpoint.Origin, "rekor.sigstore.dev - ") {
				t.Fatalf("%+v", out)
			}
			r = mlattest(t, wd, nil, append([]string{"audit", "entry", filepath.Join(conf, c.bundle)}, base...)...)
			if r.code != 0 || !strings.Contains(r.stderr, "included in the log's checkpoint of size") || !strings.Contains(r.stdout, c.subject) {
				t.Fatal(r)
			}
		})
	}

	search := func(t *testing.T, args ...string) []uint64 {
		t.Helper()
		r := mlattest(t, wd, nil, append(append([]string{"audit", "search", "--json"}, base...), args...)...)
		if r.code != 0 {
			t.Fatal(r)
		}
		var out struct {
			API     string `json:"api"`
			Entries []struct {
				Index uint64 `json:"index"`
			} `json:"entries"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.API != "rekor-v1" {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		var idx []uint64
		for _, e := range out.Entries {
			idx = append(idx, e.Index)
		}
		return idx
	}
	t.Run("search", func(t *testing.T) {
		if got := search(t, "--email", "stefanb@us.ibm.com"); !slices.Equal(got, []uint64{206342049, 206344181, 588939812, 598151086}) {
			t.Errorf("--email: %v", got)
		}
		aTxt := "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf" // sha256sum a.txt
		if got := search(t, "--sha256", aTxt); !slices.Equal(got, []uint64{27246492, 79571823}) {
			t.Errorf("--sha256: %v", got)
		}
		if got := search(t, "--email", "stefanb@us.ibm.com", "--issuer", "https://token.actions.githubusercontent.com"); len(got) != 0 {
			t.Errorf("--issuer narrows: %v", got)
		}
		r := mlattest(t, wd, nil, append([]string{"audit", "search", "--email", "stefanb@us.ibm.com"}, base...)...)
		if r.code != 0 || strings.Count(r.stdout, "stefanb@us.ibm.com (https://sigstore.verify.ibm.com/oauth2)") != 4 || !strings.Contains(r.stderr, "(Rekor v1)") {
			t.Fatal(r)
		}
	})

	for _, c := range []struct {
		name   string
		args   []string
		code   int
		reason string
	}{
		{"index range", []string{"audit", "search", "--email", "stefanb@us.ibm.com", "--from", "3"}, 2, "searched through its index"},
		{"regexp only", []string{"audit", "search", "--identity-regexp", ".*"}, 2, "exact identity or a digest"},
		{"not an email", []string{"audit", "search", "--email", "https://x"}, 2, "not an email address"},
		{"unknown API", []string{"audit", "search", "--email", "a@b", "--log-api", "v3"}, 2, "want auto, v1 or v2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := mlattest(t, wd, nil, append(c.args, base...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.reason) {
				t.Fatalf("want exit %d %q: %v", c.code, c.reason, r)
			}
		})
	}

	v03 := filepath.Join(conf, "sigstore-bundle-verify/happy-path-v0.3/bundle.sigstore.json")
	t.Run("wrong log key", func(t *testing.T) {
		other := filepath.Join(conf, "sigstore-bundle-verify/intoto-with-custom-trust-root/trusted_root.json")
		r := mlattest(t, wd, nil, "audit", "entry", v03, "--log", url, "--trusted-root", other)
		if r.code != 1 || !strings.Contains(r.stderr, "not a log of the trusted root") {
			t.Fatal(r)
		}
	})
	t.Run("intoto entry of another log", func(t *testing.T) {
		iurl, _ := serveRekorV1(t, "intoto-custom-root")
		d := filepath.Join(conf, "sigstore-bundle-verify/intoto-with-custom-trust-root")
		r := mlattest(t, wd, nil, "audit", "entry", filepath.Join(d, "bundle.sigstore.json"), "--log", iurl, "--trusted-root", filepath.Join(d, "trusted_root.json"))
		if r.code != 0 || !strings.Contains(r.stdout, "INDEX") {
			t.Fatal(r)
		}
	})
	t.Run("tampered entry", func(t *testing.T) {
		// The v0.3 bundle's entry served with the v0.1 bundle's body.
		read := func(id string) map[string]map[string]any {
			raw, err := os.ReadFile(filepath.Join(dir, "entries", id+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var le map[string]map[string]any
			if err := json.Unmarshal(raw, &le); err != nil {
				t.Fatal(err)
			}
			return le
		}
		const v03ID, v01ID = "24296fb24b8ad77aaee3c920bb1132e929ed20e1c194579a60e95849f7a554e0033fdd26ee221629", "24296fb24b8ad77a86407f5cc9c6f0d1a84fede6cfe1265fe0b3e1a4e21b4c0695e4a021ec11338f"
		le := read(v03ID)
		le[v03ID]["body"] = read(v01ID)[v01ID]["body"]
		raw, _ := json.Marshal(le)
		if err := os.WriteFile(filepath.Join(dir, "entries", v03ID+".json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		r := mlattest(t, wd, nil, append([]string{"audit", "entry", v03}, base...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "does not hash to the entry's UUID") {
			t.Fatal(r)
		}
	})
	t.Run("no --log: the trusted root's URL of the bundle's log", func(t *testing.T) {
		// The custom root's log moved to a server that is down; the
		// environment's tile log URL (the working server) is not used.
		d := filepath.Join(conf, "sigstore-bundle-verify/intoto-with-custom-trust-root")
		srv := httptest.NewServer(nil)
		srv.Close()
		raw, err := os.ReadFile(filepath.Join(d, "trusted_root.json"))
		if err != nil {
			t.Fatal(err)
		}
		tr := filepath.Join(t.TempDir(), "root.json")
		writeFile(t, tr, strings.Replace(string(raw), "http://localhost:8000", srv.URL, 1))
		iurl, _ := serveRekorV1(t, "intoto-custom-root")
		r := mlattest(t, wd, []string{envRekorReadURL + "=" + iurl}, "audit", "entry", filepath.Join(d, "bundle.sigstore.json"),
			"--trusted-root", tr, "--retry-deadline", "1s")
		if r.code != 2 || !strings.Contains(r.stderr, "log unavailable: "+srv.URL+"/api/v1/log/entries?logIndex=") {
			t.Fatal(r)
		}
	})
	t.Run("log down", func(t *testing.T) {
		srv := httptest.NewServer(nil)
		srv.Close()
		r := mlattest(t, wd, nil, "audit", "entry", v03, "--log", srv.URL, "--trusted-root", pg, "--retry-deadline", "1s")
		if r.code != 2 || !strings.Contains(r.stderr, "log unavailable") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Fatal(r)
		}
	})
}
