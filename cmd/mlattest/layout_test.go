package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testLayout is a valid layout expiring in 30 days, with one lint warning
// (the unescaped dot).
func testLayout(t *testing.T, dir string) string {
	t.Helper()
	body := `serial: 4
expires: "` + time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339) + `"
functionaries:
  ci:
    keyless:
      issuer: https://issuer.example
      subjectRegexp: ci@example.com
steps:
  - name: build
    functionaries: [ci]
    expectedMaterials: ["DISALLOW *"]
    expectedProducts: ["CREATE out.bin", "DISALLOW *"]
subject:
  step: build
`
	p := filepath.Join(dir, "layout.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLayoutCheck(t *testing.T) {
	dir := t.TempDir()
	good := testLayout(t, dir)

	r := runCLI(t, "layout", "check", good)
	if r.code != exitOK {
		t.Fatalf("valid layout: %v", r)
	}
	for _, want := range []string{
		good + `:7: warning: functionary ci: subjectRegexp "ci@example.com" has an unescaped '.'`,
		"serial:  4",
		"1. build",
		"CREATE out.bin",
		"released model: the products of step build matching *, exactly",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%v", want, r)
		}
	}

	r = runCLI(t, "layout", "check", "--json", good)
	var js layoutCheckJSON
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || r.code != exitOK {
		t.Fatalf("--json: %v (%v)", r, err)
	}
	if !js.Valid || js.Serial != 4 || len(js.Warnings) != 1 || js.Warnings[0].Line != 7 || strings.Join(js.Steps, ",") != "build" || js.Subject.Step != "build" {
		t.Errorf("--json = %+v", js)
	}

	bad := filepath.Join(dir, "bad.yaml")
	data, _ := os.ReadFile(good)
	if err := os.WriteFile(bad, append(data, "owner: alice\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "layout", "check", bad)
	if r.code != exitRejected ||
		!strings.Contains(r.stdout, bad+`:15: unknown field "owner" in layout`) ||
		!strings.Contains(r.stderr, "is not a valid layout (1 error)") {
		t.Errorf("invalid layout: %v", r)
	}
	r = runCLI(t, "layout", "check", "--json", bad)
	js = layoutCheckJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || r.code != exitRejected || js.Valid || len(js.Errors) != 1 || js.Errors[0].Line != 15 || r.stderr != "" {
		t.Errorf("invalid --json: %v (%v) %+v", r, err, js)
	}

	r = runCLI(t, "layout", "check", filepath.Join(dir, "missing.yaml"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "missing.yaml") {
		t.Errorf("missing file: %v", r)
	}
	if r = runCLI(t, "layout", "check"); r.code != exitUsage {
		t.Errorf("no argument: %v", r)
	}
}

func TestLayoutSignKeyOffline(t *testing.T) {
	dir := t.TempDir()
	layout := testLayout(t, dir)
	prefix := filepath.Join(dir, "owner")
	if r := runCLI(t, "keygen", "--no-passphrase", "--output-key-prefix", prefix); r.code != exitOK {
		t.Fatalf("keygen: %v", r)
	}

	r := runCLI(t, "layout", "sign", layout, "--key", prefix+".key", "--offline")
	if r.code != exitOK {
		t.Fatalf("sign: %v", r)
	}
	bundle := layout + ".sigstore.json"
	if !strings.Contains(r.stderr, "wrote "+bundle) || !strings.Contains(r.stderr, "serial 4") || !strings.Contains(r.stderr, "warning: functionary ci") {
		t.Errorf("sign output: %v", r)
	}
	// The bundle is a message signature over the layout's exact bytes.
	if r := runCLI(t, "verify-bundle", "--bundle", bundle, "--artifact", layout, "--key", prefix+".pub"); r.code != exitOK {
		t.Errorf("verify-bundle of the signed layout: %v", r)
	}
	changed := filepath.Join(dir, "changed.yaml")
	data, _ := os.ReadFile(layout)
	if err := os.WriteFile(changed, append(data, "# a comment\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "verify-bundle", "--bundle", bundle, "--artifact", changed, "--key", prefix+".pub"); r.code != exitRejected {
		t.Errorf("a changed layout verified: %v", r)
	}

	// Never overwrite; --out elsewhere works.
	if r := runCLI(t, "layout", "sign", layout, "--key", prefix+".key", "--offline"); r.code != exitUsage || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("overwrite: %v", r)
	}
	other := filepath.Join(dir, "other.sigstore.json")
	if r := runCLI(t, "layout", "sign", layout, "--key", prefix+".key", "--offline", "--out", other); r.code != exitOK {
		t.Errorf("--out: %v", r)
	}

	// Never sign an invalid or expired layout; write nothing.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, append(data, "extra: 1\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "layout", "sign", bad, "--key", prefix+".key", "--offline")
	if r.code != exitRejected || !strings.Contains(r.stderr, `unknown field "extra"`) {
		t.Errorf("invalid layout signed? %v", r)
	}
	expired := filepath.Join(dir, "expired.yaml")
	old := strings.Replace(string(data), "expires: \"", "expires: \"2001-01-01T00:00:00Z\"\n#", 1)
	if err := os.WriteFile(expired, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "layout", "sign", expired, "--key", prefix+".key", "--offline")
	if r.code != exitRejected || !strings.Contains(r.stderr, "expired") {
		t.Errorf("expired layout signed? %v", r)
	}
	for _, p := range []string{bad + ".sigstore.json", expired + ".sigstore.json"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written", p)
		}
	}

	// Usage errors.
	if r := runCLI(t, "layout", "sign", filepath.Join(dir, "nope.yaml"), "--key", prefix+".key", "--offline"); r.code != exitUsage {
		t.Errorf("missing layout: %v", r)
	}
	if r := runCLI(t, "layout", "sign", layout, "--offline", "--out", filepath.Join(dir, "x.json")); r.code != exitUsage || !strings.Contains(r.stderr, "--offline needs --key") {
		t.Errorf("--offline without --key: %v", r)
	}
}
