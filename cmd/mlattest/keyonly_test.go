package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/gate"
)

// noNetwork makes any HTTP(S) request of the binary fail at once, so a
// command that passes used no network.
var noNetwork = []string{"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY="}

// The air-gapped release gate, as the README shows it: keys only, every
// bundle signed offline, verified with no trusted root and no network. On
// the main before this test, verify fetched the public-good root (exit 2).
func TestKeyOnlyReleaseGate(t *testing.T) {
	dir := t.TempDir()
	do := func(t *testing.T, args ...string) cliResult {
		t.Helper()
		return mlattest(t, dir, noNetwork, args...)
	}
	must := succeeding(do)
	for _, k := range []string{"owner", "ci", "other"} {
		must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	head := keyLayoutHead(t, dir)
	base := "hf://acme/base@" + strings.Repeat("0123456789", 4)
	// layout writes and signs a layout: the two-step pipeline prep -> train,
	// base models pinned by the owner (so `run --layout` has work to do).
	layout := func(name, extra string) string {
		writeFile(t, filepath.Join(dir, name), head+`steps:
  - name: prep
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE data.txt, DISALLOW *]
  - name: train
    functionaries: [ci]
    expectedMaterials: [MATCH data.txt WITH PRODUCTS FROM prep, ALLOW base/*, DISALLOW *]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
baseModels:
  pinSigners: [ci]
subject:
  step: train
  patterns: ["model/*"]
`+extra)
		must(t, "layout", "sign", name, "--key", "owner.key", "--offline")
		return name
	}
	offline := layout("layout.yaml", "requireTransparencyLog: false\n")
	strict := layout("strict.yaml", "requireTransparencyLog: true\n")
	writeFile(t, filepath.Join(dir, "base", "model.safetensors"), "base weights")
	must(t, "pin", "--base-model", base+"=base", "--key", "ci.key", "--offline", "--out", "base.pin.sigstore.json")

	layoutArgs := func(l string) []string { return []string{"--layout", l, "--layout-key", "owner.pub"} }
	must(t, "run", "--step", "prep", "--run-id", "r1", "--key", "ci.key", "--offline", "--out", "att",
		"--products", "data.txt", "--", "sh", "-c", "echo data > data.txt")
	must(t, append(append([]string{"run", "--step", "train", "--run-id", "r1", "--key", "ci.key", "--offline", "--out", "att",
		"--materials", "data.txt,base", "--products", "model", "--base-model", base + "=base", "--pin", "base.pin.sigstore.json"},
		layoutArgs(offline)...), "--", "sh", "-c", "mkdir -p model && cat data.txt base/model.safetensors > model/m.bin")...)

	verifyArgs := func(l string, extra ...string) []string {
		return append(append(append([]string{"verify"}, layoutArgs(l)...), "--attestations", "att", "--model", "model"), extra...)
	}
	root := filepath.Join(filepath.Dir(sharedConformance(t)), "trusted_root.public-good.json")

	t.Run("key-only passes with no trusted root and no network", func(t *testing.T) {
		r := must(t, verifyArgs(offline)...)
		if strings.Count(r.stderr, gate.NoLogNotice) != 1 || strings.Contains(r.stdout, gate.NoLogNotice) || !strings.Contains(r.stdout, "PASSED") {
			t.Fatalf("want PASSED and the no-log notice once, on stderr: %v", r)
		}
		// Unlogged: the layout bundle, the pin kept by run --layout, the
		// two links and the training provenance.
		r = must(t, verifyArgs(offline, "--json")...)
		var rep gate.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if lg := rep.TransparencyLog; !rep.Passed || lg == nil || lg.Checked || lg.Notice != gate.NoLogNotice || len(lg.Unlogged) != 5 {
			t.Fatalf("JSON transparencyLog = %+v", lg)
		}
	})
	t.Run("a signed VSA names the bundles no log vouches for", func(t *testing.T) {
		must(t, verifyArgs(offline, "--vsa", "model.vsa.sigstore.json", "--key", "owner.key", "--offline")...)
		pred, _ := payload(t, filepath.Join(dir, "model.vsa.sigstore.json"))["predicate"].(map[string]any)
		ann, _ := pred["policy"].(map[string]any)["annotations"].(map[string]any)
		unlogged, _ := ann["mlattest.dev/unlogged-attestations"].([]any)
		if len(unlogged) != 4 || len(unlogged) != len(pred["inputAttestations"].([]any)) {
			t.Fatalf("want the 4 input attestations unlogged, got %v", ann)
		}
	})
	t.Run("verify-bundle and run --layout agree", func(t *testing.T) {
		must(t, "verify-bundle", "--key", "ci.pub", "--bundle", "att/train.link.sigstore.json", "--artifact", "model/m.bin")
		must(t, append(append([]string{"run", "--step", "train", "--run-id", "r2", "--key", "ci.key", "--offline", "--out", "att2",
			"--materials", "data.txt", "--base-model", base + "=base", "--pin", "base.pin.sigstore.json"}, layoutArgs(offline)...), "--", "true")...)
	})
	t.Run("a trusted root: offline bundles listed, not refused", func(t *testing.T) {
		r := must(t, verifyArgs(offline, "--trusted-root", root)...)
		if strings.Count(r.stderr, "have no transparency-log entry and count on their signature alone") != 1 || !strings.Contains(r.stderr, "train.link.sigstore.json") {
			t.Fatalf("want the unlogged bundles named once: %v", r)
		}
	})
	t.Run("requireTransparencyLog: all three refuse an offline bundle", func(t *testing.T) {
		r := do(t, verifyArgs(strict, "--trusted-root", root)...)
		if r.code != 1 || !strings.Contains(r.stdout, "bundle train.link.sigstore.json: no transparency-log entry: bundle signed offline") ||
			!strings.Contains(r.stdout, "[no-tlog-entry]") || strings.Contains(r.stdout, "no functionary key") {
			t.Fatalf("want exit 1 with no-tlog-entry: %v", r)
		}
		r = do(t, "verify-bundle", "--key", "ci.pub", "--bundle", "att/train.link.sigstore.json", "--artifact", "model/m.bin", "--trusted-root", root)
		if r.code != 1 || !strings.Contains(r.stderr, "no transparency-log entry: bundle signed offline") {
			t.Fatalf("verify-bundle: want exit 1 with the missing entry: %v", r)
		}
		r = do(t, append(append([]string{"run", "--step", "train", "--key", "ci.key", "--offline", "--out", "att3", "--trusted-root", root,
			"--materials", "data.txt", "--base-model", base + "=base", "--pin", "base.pin.sigstore.json"}, layoutArgs(strict)...), "--", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, "no transparency-log entry: bundle signed offline") {
			t.Fatalf("run --layout: want exit 125 with the missing entry: %v", r)
		}
	})
	t.Run("requireTransparencyLog and no trusted root: the root is fetched, only then", func(t *testing.T) {
		r := do(t, verifyArgs(strict)...)
		if r.code != 2 || !strings.Contains(r.stderr, "requireTransparencyLog") || !strings.Contains(r.stderr, "public-good trusted root") {
			t.Fatalf("want exit 2 naming why a root is needed: %v", r)
		}
	})
	t.Run("the layout signed by another key", func(t *testing.T) {
		r := do(t, "verify", "--layout", offline, "--layout-key", "other.pub", "--attestations", "att", "--model", "model")
		if r.code != 1 || !strings.Contains(r.stdout, "[layout-signature]") {
			t.Fatalf("want exit 1, layout-signature: %v", r)
		}
	})
	t.Run("a swapped model file fails", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "model", "m.bin"), "swapped")
		r := do(t, verifyArgs(offline)...)
		if r.code != 1 || !strings.Contains(r.stdout, "[subject]") || strings.Count(r.stderr, gate.NoLogNotice) != 1 {
			t.Fatalf("want exit 1 with a subject failure: %v", r)
		}
	})
}

// The example pipeline's key-only variant, as `make demo` runs it: the
// layout from examples/pipeline/keyonly-layout.sh, every stage signed
// offline, verified with no stack and no network.
func TestExamplePipelineKeyOnly(t *testing.T) {
	work := t.TempDir()
	keys := filepath.Join(work, "keys")
	if err := os.Mkdir(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"owner", "pipeline", "release"} {
		if r := mlattest(t, work, noNetwork, "keygen", "--no-passphrase", "--output-key-prefix", filepath.Join(keys, k)); r.code != 0 {
			t.Fatalf("keygen: %v", r)
		}
	}
	layout := filepath.Join(work, "layout.yaml")
	if out, err := exec.Command("../../examples/pipeline/keyonly-layout.sh", keys, layout).CombinedOutput(); err != nil {
		t.Fatalf("keyonly-layout.sh: %v\n%s", err, out)
	}
	r := mlattest(t, work, noNetwork, "layout", "sign", layout, "--key", filepath.Join(keys, "owner.key"), "--offline")
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Fatalf("layout sign: %v", r)
	}
	hub := filepath.Join(work, "hub")
	if out, err := exec.Command(finetunePath, "init-base", "--out", filepath.Join(hub, "model.safetensors")).CombinedOutput(); err != nil {
		t.Fatalf("init-base: %v %s", err, out)
	}
	pin := filepath.Join(work, "base.pin.sigstore.json")
	if r := mlattest(t, work, noNetwork, "pin", "--base-model", e2eBaseModel+"="+hub, "--out", pin, "--key", filepath.Join(keys, "owner.key"), "--offline"); r.code != 0 {
		t.Fatalf("pin: %v", r)
	}
	script, err := filepath.Abs("../../examples/pipeline/pipeline.sh")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name               string
		env                []string
		wantCode, wantStep string // "" for a pass
	}{
		{name: "honest run"},
		{name: "model swapped after training", env: []string{"AFTER_TRAIN=cp base/model.safetensors model/model.safetensors"},
			wantCode: "artifact-rule", wantStep: "scan-model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(work, fmt.Sprint("run", i))
			att := filepath.Join(dir, "attestations")
			cmd := exec.Command(script, filepath.Join(dir, "work"), att)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
				"MLATTEST=" + binPath, "FINETUNE=" + finetunePath, fmt.Sprintf("MLATTEST_RUN_ID=keyonly-%d", i),
				"SIGN_KEY=" + filepath.Join(keys, "pipeline.key"), "BASE_MODEL=" + e2eBaseModel,
				"LAYOUT=" + layout, "LAYOUT_KEY=" + filepath.Join(keys, "owner.pub"), "PIN=" + pin}, noNetwork...)
			cmd.Env = append(cmd.Env, tc.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pipeline: %v\n%s", err, out)
			}
			r := mlattest(t, dir, noNetwork, "verify", "--layout", layout, "--layout-key", filepath.Join(keys, "owner.pub"),
				"--attestations", att, "--model", filepath.Join(dir, "work", "release"), "--json", "--graph", filepath.Join(dir, "verified"))
			checkVerifyGraph(t, dir, att, layout, tc.wantStep)
			var rep gate.Report
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("verify --json: %v\n%v", err, r)
			}
			if rep.TransparencyLog == nil || rep.TransparencyLog.Checked || strings.Count(r.stderr, gate.NoLogNotice) != 1 {
				t.Errorf("want the key-only notice once and transparencyLog.checked false: %v", r)
			}
			if tc.wantCode == "" {
				if r.code != 0 || !rep.Passed || len(rep.Steps) != 7 {
					t.Fatalf("the honest key-only pipeline does not verify: %v", r)
				}
				return
			}
			if r.code != 1 || !rep.HasFailure(gate.FailureCode(tc.wantCode), "step "+tc.wantStep+":") {
				t.Fatalf("want exit 1 with %s at step %s: %v", tc.wantCode, tc.wantStep, r)
			}
		})
	}
}

// checkVerifyGraph checks the graph verify --graph drew in dir/verified
// against the one graph draws from the same attestations and layout: the
// same artifacts and edges, plus the verdicts; failStep ("" for a pass) is
// the first failing stage, red with its artifact.
func checkVerifyGraph(t *testing.T, dir, att, layout, failStep string) {
	t.Helper()
	claimed := filepath.Join(dir, "claimed")
	if r := mlattest(t, dir, noNetwork, "graph", "--attestations", att, "--layout", layout, "--out", claimed); r.code != 0 {
		t.Fatalf("graph: %v", r)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	verified, want := read(filepath.Join(dir, "verified.mmd")), read(claimed+".mmd")
	if !strings.HasPrefix(read(filepath.Join(dir, "verified.svg")), "<svg") {
		t.Fatal("verified.svg is not an SVG picture")
	}
	// Nodes and edges: every artifact node and edge line graph draws.
	lines := func(mmd string) []string {
		var out []string
		for _, l := range strings.Split(mmd, "\n") {
			if strings.Contains(l, "-->") || strings.Contains(l, "([") {
				out = append(out, l)
			}
		}
		return out
	}
	if got, w := lines(verified), lines(want); !slices.Equal(got, w) || len(w) < 14 {
		t.Fatalf("verify --graph and graph differ in artifacts or edges:\n%s\n---\n%s", verified, want)
	}
	if failStep == "" {
		if strings.Count(verified, "<br/>PASSED") != 7 || strings.Contains(verified, "FAILED") || strings.Contains(verified, "class ") {
			t.Fatalf("honest run drawn with failures:\n%s", verified)
		}
		return
	}
	m := regexp.MustCompile(`(?m)^  (s\d+)\["` + failStep + `<br/>[^"]*<br/>FAILED<br/>[^"]+"\]$`).FindStringSubmatch(verified)
	if m == nil || !regexp.MustCompile(`(?m)^  class .*\b`+m[1]+`\b.*\ba\d+\b.* bad$|^  class .*\ba\d+\b.*\b`+m[1]+`\b.* bad$`).MatchString(verified) {
		t.Fatalf("step %s is not drawn FAILED in red with a red artifact:\n%s", failStep, verified)
	}
}
