package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/handoff"
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
	os.WriteFile("garbage.bin", []byte("\x80\x02cos\nsys"), 0o644)
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
	// A second scan in the same step must not overwrite the first.
	if r := runCLI(t, "scan", "model", "model"); r.code != 2 {
		t.Fatal(r)
	}
	if r := runCLI(t, "scan", "model", "--no-digest", "model"); r.code != 2 {
		t.Fatal(r)
	}
}
