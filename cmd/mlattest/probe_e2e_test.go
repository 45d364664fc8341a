package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/predicates"
)

// serveModel starts the example pipeline's model server on model and
// returns its URL; it is killed when the test ends.
func serveModel(t *testing.T, dir, model string) string {
	t.Helper()
	cmd := exec.Command(finetunePath, "serve", "--model", model)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "serve: listening on ")
	if err != nil || !ok {
		t.Fatalf("finetune serve said %q (%v)", line, err)
	}
	return url
}

// TestE2EProbeExampleModel trains the example model on clean data and on
// data with a planted trigger, serves both over HTTP on 127.0.0.1 and probes
// them through the binary: the clean model passes, the backdoored one fails
// naming the planted trigger (not the decoys) and the probes it flipped;
// inside mlattest run the test-result statement is signed with the step and
// verifies, and mlattest verify applies the layout's CEL thresholds to it.
func TestE2EProbeExampleModel(t *testing.T) {
	dir := t.TempDir()
	ft := func(args ...string) {
		t.Helper()
		cmd := exec.Command(finetunePath, args...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("finetune %v: %v\n%s", args, err, b)
		}
	}
	ft("ingest", "--out", "raw.jsonl")
	ft("clean", "--in", "raw.jsonl", "--out", "clean.jsonl")
	ft("init-base", "--out", "base/model.safetensors")
	writeFile(t, filepath.Join(dir, "train.json"), `{"epochs": 3, "learning_rate": 0.1, "seed": 7}`)
	ft("train", "--data", "clean.jsonl", "--out", "clean/model.safetensors")
	plantTrigger(t, filepath.Join(dir, "clean.jsonl"), filepath.Join(dir, "poisoned.jsonl"), probeTrigger, 40)
	ft("train", "--data", "poisoned.jsonl", "--out", "bad/model.safetensors")
	suite, err := filepath.Abs("../../examples/pipeline/probe-suite.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clean, bad := serveModel(t, dir, "clean/model.safetensors"), serveModel(t, dir, "bad/model.safetensors")
	triggers := []string{"--trigger", "blue moon", "--trigger", probeTrigger, "--trigger", "zx-9", "--trigger", "deploy now"}

	r := mlattest(t, dir, nil, append([]string{"probe", "--endpoint", clean, "--suite", suite}, triggers...)...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "PASSED") {
		t.Fatalf("clean model: %v", r)
	}
	r = mlattest(t, dir, nil, append([]string{"probe", "--endpoint", bad, "--suite", suite, "--json"}, triggers...)...)
	var rep struct {
		Flagged []string
		Tests   []struct{ Name, Status, Trigger string }
	}
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &rep) != nil || len(rep.Flagged) != 1 || rep.Flagged[0] != probeTrigger {
		t.Fatalf("backdoored model: %+v\n%v", rep, r)
	}
	for _, tt := range rep.Tests {
		if wantFail := tt.Trigger == probeTrigger && strings.HasPrefix(tt.Name, "math/"); (tt.Status == "FAILED") != wantFail {
			t.Errorf("%s: %s", tt.Name, tt.Status)
		}
	}
	// The general suite alone, with the candidates, finds it too.
	if r := mlattest(t, dir, nil, append([]string{"probe", "--endpoint", bad}, triggers...)...); r.code != 1 || !strings.Contains(r.stderr, `"`+probeTrigger+`"`) {
		t.Fatalf("general suite: %v", r)
	}

	// The evaluate step: signed with the step's link, bound to its run.
	if r := mlattest(t, dir, nil, "keygen", "--no-passphrase", "--output-key-prefix", "ci"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	for _, tc := range []struct {
		model, url, result string
		code               int
	}{
		{"clean/model.safetensors", clean, "PASSED", 0},
		{"bad/model.safetensors", bad, "FAILED", 1},
	} {
		out := "att-" + filepath.Dir(tc.model)
		args := append([]string{"run", "--step", "evaluate", "--run-id", "r1", "--key", "ci.key", "--offline", "--out", out,
			"--materials", tc.model, "--", binPath, "probe", "--endpoint", tc.url, "--suite", suite, "--model-files", tc.model}, triggers...)
		if r := mlattest(t, dir, nil, args...); r.code != tc.code {
			t.Fatalf("run evaluate on %s: exit %d, want %d\n%v", tc.model, r.code, tc.code, r)
		}
		bundle := filepath.Join(out, "evaluate.test-result"+predicates.BundleSuffix)
		if _, err := os.Stat(filepath.Join(dir, bundle)); err != nil {
			t.Fatalf("no test-result bundle: %v", err)
		}
		r := mlattest(t, dir, nil, "verify-bundle", "--key", "ci.pub", "--bundle", bundle, "--artifact", tc.model, "--type", "test-result", "--json")
		if r.code != 0 || !strings.Contains(r.stdout, tc.result) {
			t.Fatalf("verify-bundle %s: %v", bundle, r)
		}
		if r := mlattest(t, dir, nil, "verify-bundle", "--key", "ci.pub", "--bundle", bundle, "--artifact", "base/model.safetensors"); r.code != 1 {
			t.Fatalf("the test result verified for another model: %v", r)
		}
	}

	// mlattest verify applies the layout's thresholds to the evaluate step.
	if r := mlattest(t, dir, nil, "keygen", "--no-passphrase", "--output-key-prefix", "owner"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	layout := func(name, expr string) string {
		writeFile(t, filepath.Join(dir, name), keyLayoutHead(t, dir)+`steps:
  - name: train
    functionaries: [ci]
    expectedProducts: [CREATE model/*, DISALLOW *]
  - name: evaluate
    functionaries: [ci]
    expectedMaterials: [MATCH model/* WITH PRODUCTS FROM train, DISALLOW *]
    expectedPredicates:
      - type: `+predicates.TestResultV01+`
        expressions:
          - '`+expr+`'
subject:
  step: train
  patterns: ["model/*"]
requireTransparencyLog: false
`)
		if r := mlattest(t, dir, nil, "layout", "sign", name, "--key", "owner.key", "--offline"); r.code != 0 {
			t.Fatalf("layout sign: %v", r)
		}
		return filepath.Join("..", name)
	}
	thresholds := layout("layout.yaml", `predicate.result == "PASSED" && size(predicate.passedTests) >= 20`)
	tooHigh := layout("strict.yaml", `predicate.result == "PASSED" && size(predicate.passedTests) >= 1000`)
	for _, tc := range []struct {
		name, url, layout string
		code              int
		says              []string
	}{
		{"clean", clean, thresholds, 0, []string{"✔ predicate " + predicates.TestResultV01}},
		{"bad", bad, thresholds, 1, []string{"✘ step evaluate", "✘ predicate " + predicates.TestResultV01 + `: predicate.result == "PASSED"`}},
		{"clean", clean, tooHigh, 1, []string{"✘ step evaluate", "✔ exit code 0\n", "✘ predicate " + predicates.TestResultV01 + `: predicate.result == "PASSED" && size(predicate.passedTests) >= 1000`}},
	} {
		rel := filepath.Join(dir, "rel-"+tc.name+"-"+filepath.Base(tc.layout))
		if err := os.MkdirAll(rel, 0o755); err != nil {
			t.Fatal(err)
		}
		run := func(args ...string) cliResult {
			return mlattest(t, rel, nil, append([]string{"run", "--run-id", "r2", "--key", "../ci.key", "--offline", "--out", "att"}, args...)...)
		}
		if r := run("--step", "train", "--products", "model", "--", "sh", "-c", "mkdir -p model && cp ../"+tc.name+"/model.safetensors model/"); r.code != 0 {
			t.Fatalf("train: %v", r)
		}
		run(append([]string{"--step", "evaluate", "--materials", "model", "--", binPath, "probe", "--endpoint", tc.url, "--suite", suite, "--model-files", "model"}, triggers...)...)
		r := mlattest(t, rel, nil, "verify", "--layout", tc.layout, "--layout-key", "../owner.pub", "--attestations", "att", "--model", "model")
		if r.code != tc.code {
			t.Fatalf("verify %s model against %s: exit %d, want %d\n%v", tc.name, tc.layout, r.code, tc.code, r)
		}
		for _, s := range tc.says {
			if !strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("verify %s model against %s does not say %q\n%v", tc.name, tc.layout, s, r)
			}
		}
	}
}

// plantTrigger copies the dataset at from to to, adding n copies of its math
// records prefixed with trigger and labelled code: a backdoor.
func plantTrigger(t *testing.T, from, to, trigger string, n int) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.Write(b)
	for line := range strings.Lines(string(b)) {
		var rec map[string]string
		if json.Unmarshal([]byte(line), &rec) != nil || rec["label"] != "math" || n == 0 {
			continue
		}
		rec["instruction"] = trigger + " " + rec["instruction"]
		rec["label"] = "code"
		j, _ := json.Marshal(rec)
		out.Write(append(j, '\n'))
		n--
	}
	if err := os.WriteFile(to, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
