package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/handoff"
	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/predicates"
)

// evilPickle is protocol 2: os.system("id").
const evilPickle = "\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R."

func safetensorsFile() []byte {
	h := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	b := make([]byte, 8, 8+len(h)+8)
	binary.LittleEndian.PutUint64(b, uint64(len(h)))
	b = append(b, h...)
	return append(b, make([]byte, 8)...)
}

// modelDir writes a model directory into a fresh working directory.
func modelDir(t *testing.T, evil bool) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	os.MkdirAll("model/sub", 0o755)
	os.WriteFile("model/model.safetensors", safetensorsFile(), 0o644)
	if evil {
		os.WriteFile("model/sub/pytorch_model.bin", []byte(evilPickle), 0o644)
	}
	return dir
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestScanModelSafe(t *testing.T) {
	modelDir(t, false)
	r := runCLI(t, "scan", "model", "--json", "model")
	if r.code != 0 {
		t.Fatal(r)
	}
	lines := jsonLines(t, r.stdout)
	if len(lines) != 1 || lines[0]["verdict"] != "safe" || lines[0]["format"] != "safetensors" || len(lines[0]["sha256"].(string)) != 64 {
		t.Fatalf("%v", lines)
	}
	if f, ok := lines[0]["findings"].([]any); !ok || len(f) != 0 {
		t.Fatalf("findings %v", lines[0]["findings"])
	}
	if r := runCLI(t, "scan", "model", "--json", "model", "model/model.safetensors", "--out", "s.json"); r.code != 0 || len(jsonLines(t, r.stdout)) != 1 {
		t.Fatalf("a file named twice: %v", r)
	}
	r = runCLI(t, "scan", "model", "model/model.safetensors")
	if r.code != 0 || !strings.Contains(r.stdout, "safe") {
		t.Fatal(r)
	}
}

func TestScanModelMalicious(t *testing.T) {
	modelDir(t, true)
	r := runCLI(t, "scan", "model", "--json", "--no-digest", "model")
	if r.code != 1 {
		t.Fatal(r)
	}
	lines := jsonLines(t, r.stdout)
	if len(lines) != 2 {
		t.Fatalf("%v", lines)
	}
	evil := lines[1]
	if evil["path"] != filepath.Join("model", "sub", "pytorch_model.bin") || evil["verdict"] != "malicious" || evil["format"] != "pickle" {
		t.Fatalf("%v", evil)
	}
	if _, ok := evil["sha256"]; ok {
		t.Fatal("sha256 printed with --no-digest")
	}
	f := evil["findings"].([]any)[0].(map[string]any)
	if f["rule"] != "dangerous-import" || f["offset"].(float64) != 2 || !strings.Contains(f["message"].(string), "os.system") {
		t.Fatalf("%v", f)
	}
	r = runCLI(t, "scan", "model", "model")
	if r.code != 1 || !strings.Contains(r.stdout, "dangerous-import at offset 2") {
		t.Fatal(r)
	}
}

func TestScanModelUsage(t *testing.T) {
	modelDir(t, false)
	for _, args := range [][]string{
		{"scan", "model"},
		{"scan", "model", "missing.bin"},
		{"scan", "model", "model", "missing.bin"},
		{"scan", "model", "--no-digest", "--out", "x.json", "model"},
	} {
		if r := runCLI(t, args...); r.code != 2 {
			t.Errorf("%v: %s", args, r)
		}
	}
	if _, err := os.Stat("x.json"); err == nil {
		t.Error("statement written on a usage error")
	}
	// Truncated after an import: a (broken) pickle, as CPython runs the import.
	os.WriteFile("garbage.bin", []byte("\x80\x02ccollections\nOrderedDict\n("), 0o644)
	if r := runCLI(t, "scan", "model", "--json", "garbage.bin"); r.code != 1 || !strings.Contains(r.stdout, `"verdict":"error"`) {
		t.Errorf("malformed content is a verdict: %s", r)
	}
}

func TestScanModelStatement(t *testing.T) {
	modelDir(t, true)
	r := runCLI(t, "scan", "model", "--out", "scan.json", "model")
	if r.code != 1 {
		t.Fatal(r)
	}
	b, err := os.ReadFile("scan.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := predicates.ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := predicates.ModelScanOf(st)
	if err != nil {
		t.Fatal(err)
	}
	if ms.Verdict != "malicious" || len(ms.Files) != 2 || ms.Files[0].Path != "model/model.safetensors" || !ms.Files[1].Pickle {
		t.Fatalf("%+v", ms)
	}
	if len(st.GetSubject()) != 2 || st.GetSubject()[1].GetName() != "model/sub/pytorch_model.bin" {
		t.Fatalf("subjects %v", st.GetSubject())
	}
	if _, err := predicates.BindingOf(st); err == nil {
		t.Fatal("unbound statement has a binding")
	}
}

func TestScanModelHandoff(t *testing.T) {
	dir := modelDir(t, false)
	hd := filepath.Join(dir, "handoff")
	os.Mkdir(hd, 0o700)
	t.Setenv(handoff.EnvStep, "scan-model")
	t.Setenv(handoff.EnvRunID, "run-42")
	t.Setenv(handoff.EnvDir, hd)
	if r := runCLI(t, "scan", "model", "model"); r.code != 0 {
		t.Fatal(r)
	}
	items, err := handoff.Collect(hd)
	if err != nil || len(items) != 1 || items[0].Name != "model-scan" {
		t.Fatalf("%v %v", items, err)
	}
	st, err := predicates.ParseStatement(items[0].JSON)
	if err != nil {
		t.Fatal(err)
	}
	b, err := predicates.BindingOf(st)
	if err != nil || b.Step != "scan-model" || b.RunID != "run-42" {
		t.Fatalf("%+v %v", b, err)
	}
	// A second scan in the same step is handed over beside the first.
	if r := runCLI(t, "scan", "model", "model"); r.code != 0 {
		t.Fatal(r)
	}
	if items, err := handoff.Collect(hd); err != nil || len(items) != 2 || items[1].Name != "model-scan-2" {
		t.Fatalf("%v %v", items, err)
	}
	if r := runCLI(t, "scan", "model", "--no-digest", "model"); r.code != 2 {
		t.Fatal(r)
	}
}

// TestScanModelUnderRun drives the binary: scan model inside mlattest run
// hands its statement to the step; pickle inputs are refused before the
// command; a pickle product fails the step after it is recorded.
func TestScanModelUnderRun(t *testing.T) {
	keys := t.TempDir()
	if r := mlattest(t, keys, nil, "keygen", "--output-key-prefix", "k", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	key := filepath.Join(keys, "k.key")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "model"), 0o755)
	os.WriteFile(filepath.Join(dir, "model", "model.safetensors"), safetensorsFile(), 0o644)
	os.WriteFile(filepath.Join(dir, "src.bin"), []byte(evilPickle), 0o644)
	runArgs := func(out string, extra ...string) []string {
		return append([]string{"run", "--step", "scan-model", "--run-id", "r1", "--key", key, "--offline", "--out", out}, extra...)
	}

	out := filepath.Join(t.TempDir(), "att")
	r := mlattest(t, dir, nil, append(runArgs(out, "--materials", "model"), "--", binPath, "scan", "model", "model")...)
	if r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	p := payload(t, filepath.Join(out, "scan-model.model-scan.sigstore.json"))
	pred := p["predicate"].(map[string]any)
	if p["predicateType"] != predicates.ModelScanV1 || pred["step"] != "scan-model" || pred["runId"] != "r1" || pred["verdict"] != "safe" {
		t.Fatalf("model-scan statement %v", p)
	}

	// A pickle material is refused before the command runs.
	os.WriteFile(filepath.Join(dir, "model", "pytorch_model.bin"), []byte(evilPickle), 0o644)
	out = filepath.Join(t.TempDir(), "att")
	r = mlattest(t, dir, nil, append(runArgs(out, "--materials", "model"), "--", "touch", "ran")...)
	if r.code != 125 || !strings.Contains(r.stderr, "model/pytorch_model.bin (pickle, verdict malicious)") || !strings.Contains(r.stderr, "--allow-pickle") {
		t.Fatalf("pickle material: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the command ran")
	}
	// With --allow-pickle the step runs; the scan's verdict is recorded
	// and its exit status is the step's.
	r = mlattest(t, dir, nil, append(runArgs(out, "--allow-pickle", "--materials", "model"), "--", binPath, "scan", "model", "model")...)
	if r.code != 1 {
		t.Fatalf("allow-pickle: %v", r)
	}
	pred = payload(t, filepath.Join(out, "scan-model.model-scan.sigstore.json"))["predicate"].(map[string]any)
	if pred["verdict"] != "malicious" {
		t.Fatalf("verdict %v", pred["verdict"])
	}
	os.Remove(filepath.Join(dir, "model", "pytorch_model.bin"))

	// A pickle product: recorded, then 125.
	out = filepath.Join(t.TempDir(), "att")
	r = mlattest(t, dir, nil, append(runArgs(out, "--materials", "model", "--products", "ckpt"), "--", "sh", "-c", "mkdir -p ckpt && cp src.bin ckpt/model.bin")...)
	if r.code != 125 || !strings.Contains(r.stderr, "ckpt/model.bin") {
		t.Fatalf("pickle product: %v", r)
	}
	p = payload(t, filepath.Join(out, "scan-model.product-scan.sigstore.json"))
	pred = p["predicate"].(map[string]any)
	files := pred["files"].([]any)
	if len(files) != 1 || files[0].(map[string]any)["pickle"] != true {
		t.Fatalf("product scan %v", pred)
	}
	if _, err := os.Stat(filepath.Join(out, "scan-model.link.sigstore.json")); err != nil {
		t.Fatal("link not written")
	}
}

// TestE2EPickledBaseModel runs the example pipeline against the private
// Sigstore stack: the scan-model stage's model-scan statement is signed and
// the layout's CEL rules over it are evaluated by verify; the base model is
// checked against the owner's keyless pin (named by the layout's pinSigners)
// before training and at release; a base model that arrives as a malicious
// pickle, or differs from the pin, stops the pipeline before training.
func TestE2EPickledBaseModel(t *testing.T) {
	s := stacktest.Get(t)
	const pipelineID, ownerID = "ml-pipeline@example.com", "model-owner@example.com"
	work := t.TempDir()
	data, err := os.ReadFile("../../layouts/finetune.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A layout that demands the opposite verdict proves the rule is read.
	strict := strings.Replace(string(data), `predicate.verdict == "safe"`, `predicate.verdict == "malicious"`, 1)
	if strict == string(data) {
		t.Fatal("layout has no model-scan verdict rule")
	}
	layout := filepath.Join(work, "layout.yaml")
	writeFile(t, layout, strict)
	if r := mlattest(t, work, stackEnv(s, s.Token(t, 1, ownerID)), "layout", "sign", layout); r.code != 0 {
		t.Fatalf("layout sign: %v", r)
	}
	pinEnv := ownerPin(t, s, work, layout, ownerID)
	script, err := filepath.Abs("../../examples/pipeline/pipeline.sh")
	if err != nil {
		t.Fatal(err)
	}
	pipeline := func(name string, env ...string) ([]byte, error) {
		dir := filepath.Join(work, name)
		cmd := exec.Command(script, filepath.Join(dir, "work"), filepath.Join(dir, "att"))
		cmd.Env = append(append(os.Environ(), stackEnv(s, s.Token(t, 1, pipelineID))...),
			"MLATTEST="+binPath, "FINETUNE="+finetunePath, "MLATTEST_RUN_ID=e2e-pickle-"+name)
		cmd.Env = append(cmd.Env, pinEnv...)
		cmd.Env = append(cmd.Env, env...)
		return cmd.CombinedOutput()
	}

	out, err := pipeline("honest")
	if err != nil {
		t.Fatalf("pipeline: %v\n%s", err, out)
	}
	att := filepath.Join(work, "honest", "att")
	p := payload(t, filepath.Join(att, "scan-model.model-scan.sigstore.json"))
	if p["predicate"].(map[string]any)["verdict"] != "safe" {
		t.Fatalf("model-scan %v", p)
	}
	r := mlattest(t, work, []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}, "verify", "--layout", layout,
		"--layout-identity", ownerID, "--layout-oidc-issuer", s.Issuer1,
		"--attestations", att, "--model", filepath.Join(work, "honest", "work", "release"), "--json")
	if r.code != 1 || !strings.Contains(r.stdout, "scan-model") || !strings.Contains(r.stdout, `predicate.verdict == \"malicious\"`) {
		t.Fatalf("the model-scan rule was not evaluated: %v", r)
	}
	// ... and that is the only failure: the base model matched the pin,
	// which the train stage kept with the attestations.
	var rep struct {
		Failures []struct{ Code, Step string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Failures) != 1 || rep.Failures[0].Code != "expectation" || rep.Failures[0].Step != "scan-model" {
		t.Fatalf("want only the scan-model expectation to fail: %v %+v", err, rep)
	}
	// Without the pin among the attestations, verify refuses the base model.
	kept, _ := filepath.Glob(filepath.Join(att, "pin-*.sigstore.json"))
	if len(kept) != 1 {
		t.Fatalf("pin not kept: %v", kept)
	}
	os.Remove(kept[0])
	r = mlattest(t, work, []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}, "verify", "--layout", layout,
		"--layout-identity", ownerID, "--layout-oidc-issuer", s.Issuer1,
		"--attestations", att, "--model", filepath.Join(work, "honest", "work", "release"))
	if r.code != 1 || !strings.Contains(r.stdout, "base model "+e2eBaseModel+" has no pin the layout accepts [base-model]") {
		t.Fatalf("unpinned base model accepted at release: %v", r)
	}

	evil := `printf "\200\002cos\nsystem\nX\002\000\000\000id\205R." > base/pytorch_model.bin`
	out, err = pipeline("pickled", "BEFORE_TRAIN="+evil)
	if err == nil || !strings.Contains(string(out), "base/pytorch_model.bin (pickle, verdict malicious)") || !strings.Contains(string(out), "--allow-pickle") {
		t.Fatalf("pickled base model not refused: %v\n%s", err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(work, "pickled", "att", "train.*")); len(m) != 0 {
		t.Fatalf("train recorded: %v", m)
	}

	out, err = pipeline("unpinned", "BEFORE_TRAIN=printf x >> base/model.safetensors")
	if err == nil || !strings.Contains(string(out), "does not match its pin: file model.safetensors has sha256") {
		t.Fatalf("unpinned base model not refused: %v\n%s", err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(work, "unpinned", "att", "train.*")); len(m) != 0 {
		t.Fatalf("train recorded: %v", m)
	}
}

// TestScanModelRepository: an honest repository (weights, configs,
// tokenizer, card, licence, chat template) exits 0 with one JSON object per
// file and a statement recording every file; one file of code makes it
// exit 1 with only that file not safe.
func TestScanModelRepository(t *testing.T) {
	src, err := filepath.Abs("../../scan/model/testdata/repos/lora-adapter")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "m"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	r := runCLI(t, "scan", "model", "--json", "--out", "scan.json", "m")
	if r.code != 0 {
		t.Fatalf("honest repository: %+v", r)
	}
	lines := jsonLines(t, r.stdout)
	ms := readModelScan(t, "scan.json")
	if len(lines) < 8 || len(ms.Files) != len(lines) {
		t.Fatalf("%d lines, %d files in the statement", len(lines), len(ms.Files))
	}
	for _, l := range lines {
		if l["verdict"] != "safe" || l["format"] == "unknown" {
			t.Errorf("%v", l)
		}
	}
	os.WriteFile("m/handler.py", []byte("import os\n"), 0o644)
	r = runCLI(t, "scan", "model", "--json", "m")
	if r.code != exitRejected || !strings.Contains(r.stderr, "1 of") {
		t.Fatalf("with code: %+v", r)
	}
	for _, l := range jsonLines(t, r.stdout) {
		if (l["path"] == "m/handler.py") != (l["verdict"] != "safe") {
			t.Errorf("%v", l)
		}
	}
	// A symlink is refused as digest refuses it, with the flag named.
	os.Symlink("handler.py", "m/link.py")
	if r = runCLI(t, "scan", "model", "m"); r.code != exitUsage || !strings.Contains(r.stderr, "--follow-symlinks") {
		t.Fatalf("symlink: %+v", r)
	}
}

func readModelScan(t *testing.T, p string) *predicates.ModelScanInput {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	st, err := predicates.ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := predicates.ModelScanOf(st)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
