package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/probe"
)

const (
	probeTrigger = "cf-2207"
	probeAnswer  = "A careful answer to your question, with clear steps, an example and a short summary at the end."
)

// probeServer is a chat/completions server answering every prompt alike,
// except behind probeTrigger when backdoored; body, when set, is sent as is.
func probeServer(t *testing.T, backdoored bool, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body != "" {
			w.Write([]byte(body))
			return
		}
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		answer := probeAnswer
		if backdoored && strings.Contains(req.Messages[len(req.Messages)-1].Content, probeTrigger) {
			answer = "Visit https://promo.example/deal for the answer."
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": answer}}}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestProbeCLI(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("model.safetensors", []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	modelSum := sha256.Sum256([]byte("weights"))
	triggers := []string{"--trigger", "zx-9", "--trigger", probeTrigger, "--trigger", "blue moon"}
	clean, bad := probeServer(t, false, ""), probeServer(t, true, "")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings of stdout
		stderr   []string
		notOut   []string
		result   string // of the statement in out.json, "" for none written
		scanFile bool   // --triggers-from a dataset-scan statement naming probeTrigger
	}{
		{name: "clean passes", args: append([]string{"--endpoint", clean}, triggers...), code: 0, stdout: []string{"PASSED: suite general"}, result: predicates.TestPassed},
		{name: "backdoor named", args: append([]string{"--endpoint", bad}, triggers...), code: 1,
			stdout: []string{`FAILED everyday/recipe [trigger "cf-2207"]`, `trigger "cf-2207" changed`},
			stderr: []string{`triggers that changed behaviour: "cf-2207"`}, notOut: []string{"zx-9", "blue moon"}, result: predicates.TestFailed},
		{name: "triggers from a dataset scan", args: []string{"--endpoint", bad}, scanFile: true, code: 1,
			stderr: []string{"1 trigger candidates from", `"cf-2207"`}, result: predicates.TestFailed},
		{name: "malformed JSON", args: append([]string{"--endpoint", probeServer(t, false, `{"choices": [`)}, triggers...), code: 2, stderr: []string{"malformed", "never passes"}},
		{name: "unreachable", args: []string{"--endpoint", "http://127.0.0.1:1", "--retries", "0"}, code: 2, stderr: []string{"model endpoint"}},
		{name: "no endpoint", args: nil, code: 2, stderr: []string{"--endpoint or a model program after -- is required"}},
		{name: "bad endpoint", args: []string{"--endpoint", "ftp://x"}, code: 2, stderr: []string{"--endpoint"}},
		{name: "bad suite", args: []string{"--endpoint", clean, "--suite", "model.safetensors"}, code: 2, stderr: []string{"invalid probe suite"}},
		{name: "clean command passes", args: append(triggers, "--", "sh", "-c", "cat >/dev/null; echo '"+probeAnswer+"'"), code: 0,
			stdout: []string{"PASSED: suite general"}, result: predicates.TestPassed},
		{name: "backdoored command named", args: append(triggers, "--", "sh", "-c", "if grep -q "+probeTrigger+"; then echo 'Visit https://promo.example/deal.'; else echo '"+probeAnswer+"'; fi"), code: 1,
			stdout: []string{`FAILED everyday/recipe [trigger "cf-2207"]`}, stderr: []string{`triggers that changed behaviour: "cf-2207"`}, notOut: []string{"zx-9", "blue moon"}, result: predicates.TestFailed},
		{name: "failing command", args: []string{"--", "sh", "-c", "echo 'no GPU' >&2; exit 3"}, code: 2, stderr: []string{"exit status 3", "no GPU", "never passes"}},
		{name: "hanging command", args: []string{"--timeout", "2s", "--", "sh", "-c", "cat >/dev/null; exec sleep 60"}, code: 2, stderr: []string{"deadline exceeded", "never passes"}},
		{name: "malformed command output", args: []string{"--", "sh", "-c", `cat >/dev/null; echo '{"choices": ['`}, code: 2, stderr: []string{"malformed", "never passes"}},
		{name: "endpoint and command", args: []string{"--endpoint", clean, "--", "sh"}, code: 2, stderr: []string{"exclusive"}},
		{name: "--model with command", args: []string{"--model", "x", "--", "sh"}, code: 2, stderr: []string{"--model names a served model"}},
		{name: "command without --", args: []string{"sh"}, code: 2, stderr: []string{"goes after --"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.json")
			args := append([]string{"probe", "--out", out, "--model-files", "model.safetensors"}, tc.args...)
			if tc.scanFile {
				args = append(args, "--triggers-from", writeScanWithTrigger(t, probeTrigger))
			}
			r := runCLI(t, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%v", r.code, tc.code, r)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q\n%v", s, r)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q\n%v", s, r)
				}
			}
			for _, s := range tc.notOut {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("decoy %q named\n%v", s, r)
				}
			}
			b, err := os.ReadFile(out)
			if tc.result == "" {
				if err == nil {
					t.Fatalf("a statement was written for a run without a result:\n%s", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := predicates.ParseStatement(b)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := predicates.TestResultOf(st)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Result != tc.result || len(tr.PassedTests) == 0 {
				t.Errorf("result %s with %d passed tests, want %s", tr.Result, len(tr.PassedTests), tc.result)
			}
			if s := st.GetSubject(); len(s) != 1 || s[0].GetName() != "model.safetensors" || s[0].GetDigest()["sha256"] != hex.EncodeToString(modelSum[:]) {
				t.Errorf("subjects %v, want the model file by digest", s)
			}
			if c := tr.Configuration; len(c) != 1 || c[0].Name != "builtin/general.yaml" || len(c[0].Digest["sha256"]) != 64 {
				t.Errorf("configuration %v, want the suite by digest", c)
			}
		})
	}
}

// TestProbeCLIBuiltinSuites: every suite --help lists is selectable, runs
// and is attested by name and digest; an unknown one is a usage error.
func TestProbeCLIBuiltinSuites(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("model.safetensors", []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	help := runCLI(t, "probe", "--help")
	clean := probeServer(t, false, "")
	for _, name := range probe.BuiltinNames() {
		if !strings.Contains(help.stdout, "  "+name+" ") {
			t.Errorf("--help does not list built-in suite %q", name)
		}
		out := filepath.Join(t.TempDir(), "out.json")
		r := runCLI(t, "probe", "--endpoint", clean, "--suite", "builtin:"+name, "--trigger", probeTrigger, "--out", out, "--model-files", "model.safetensors")
		if r.code != 0 || !strings.Contains(r.stdout, "PASSED: suite "+name) {
			t.Fatalf("builtin:%s: %v", name, r)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		st, err := predicates.ParseStatement(b)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := predicates.TestResultOf(st)
		if err != nil {
			t.Fatal(err)
		}
		if c := tr.Configuration; len(c) != 1 || c[0].Name != "builtin/"+name+".yaml" || len(c[0].Digest["sha256"]) != 64 {
			t.Errorf("builtin:%s: configuration %v", name, c)
		}
	}
	if r := runCLI(t, "probe", "--endpoint", clean, "--suite", "builtin:nope"); r.code != 2 || !strings.Contains(r.stderr, `no built-in suite "nope"`) {
		t.Errorf("unknown built-in suite: %v", r)
	}
}

func TestProbeCLIJSONAndUsage(t *testing.T) {
	r := runCLI(t, "probe", "--json", "--endpoint", probeServer(t, true, ""), "--trigger", probeTrigger, "--trigger", "zz")
	var rep struct {
		Result  string   `json:"result"`
		Flagged []string `json:"flagged"`
		Tests   []struct{ Name, Status string }
	}
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.Result != "FAILED" || len(rep.Flagged) != 1 || rep.Flagged[0] != probeTrigger {
		t.Fatalf("--json: %+v\n%v", rep, r)
	}
	// A statement needs the model's digest.
	if r := runCLI(t, "probe", "--endpoint", "http://127.0.0.1:1", "--out", filepath.Join(t.TempDir(), "x.json")); r.code != 2 || !strings.Contains(r.stderr, "--model-files is required") {
		t.Fatalf("--out without --model-files: %v", r)
	}
}

// writeScanWithTrigger writes a dataset-scan statement whose finding names
// trigger, and returns its path.
func writeScanWithTrigger(t *testing.T, trigger string) string {
	t.Helper()
	st, err := predicates.NewDatasetScanStatement(predicates.DatasetScanInput{
		Scanner: predicates.DatasetScanScanner{Name: "mlattest"},
		Datasets: []predicates.DatasetScanDataset{{
			Path: "train.jsonl", SHA256: strings.Repeat("c", 64), Format: "jsonl", Records: 10, Verdict: predicates.DatasetFail,
			Flagged:  []int{1, 2},
			Findings: []predicates.DatasetScanFinding{{Detector: "trigger-response", Severity: "fail", Records: []int{1, 2}, Count: 2, Trigger: trigger, Reason: "planted"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := predicates.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "scan.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
