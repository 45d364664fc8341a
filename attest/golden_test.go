package attest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenStatements pins the statements Attest renders for a training
// step in GitHub Actions: the contract between attest, predicates and
// whoever verifies them. Regenerate with: go test ./attest -run Golden -update
func TestGoldenStatements(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "data/clean.jsonl", "{\"text\":\"hello\"}\n")
	writeFile(t, dir, "train.yaml", "epochs: 1\n")
	writeFile(t, dir, "model/model.safetensors", "weights")
	writeFile(t, dir, "base/config.json", "{}")
	writeFile(t, dir, "base/model.safetensors", "base weights")
	env := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9001", "GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_REPOSITORY": "acme/llm", "GITHUB_SHA": strings.Repeat("a", 40), "GITHUB_REF": "refs/heads/main",
		"GITHUB_WORKFLOW_REF": "acme/llm/.github/workflows/train.yml@refs/heads/main", "RUNNER_OS": "Linux",
		"GITHUB_TOKEN": "ghs_never_recorded", "HOME": "/home/runner",
	}
	s := &Step{
		Name: "train", Dir: dir,
		Materials:       []string{"data", "train.yaml"},
		Products:        []string{"model"},
		BaseModels:      []Input{{URI: "hf://acme/base@0123456789abcdef0123456789abcdef01234567", Path: "base"}},
		Datasets:        []DatasetInput{{Input: Input{URI: "file://data/clean.jsonl", Path: "data/clean.jsonl"}, CollectedAt: "2025-11-01", SourceClass: "curated"}},
		Config:          "train.yaml",
		Image:           "ghcr.io/acme/trainer:v1@sha256:" + strings.Repeat("0f", 32),
		Hyperparameters: map[string]any{"epochs": 1, "lr": 0.0002},
		Network:         "none",
		Command:         []string{"python", "train.py", "--config", "train.yaml"},
	}
	start := time.Date(2025, 11, 20, 8, 0, 0, 0, time.UTC)
	rec, err := Attest(context.Background(), s, 0, testOpts(t, nil,
		WithTimes(start, start.Add(3*time.Hour)),
		WithGit(filepath.Join(dir, "no-git")), // no script facts: TMPDIR may be inside a repository
		WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))...)
	if err != nil {
		t.Fatal(err)
	}
	checkStatements(t, rec)
	for _, st := range rec.Statements {
		// The runtime facts differ between test machines.
		got := bytes.ReplaceAll(st.JSON, []byte(`"`+EnvKeyOS+`":"`+runtime.GOOS+`"`), []byte(`"`+EnvKeyOS+`":"GOOS"`))
		got = bytes.ReplaceAll(got, []byte(`"`+EnvKeyArch+`":"`+runtime.GOARCH+`"`), []byte(`"`+EnvKeyArch+`":"GOARCH"`))
		if bytes.Contains(got, []byte("ghs_")) || bytes.Contains(got, []byte("/home/runner")) {
			t.Errorf("%s statement records a secret or HOME: %s", st.Kind, got)
		}
		golden := filepath.Join("testdata", "train."+st.Kind+".json")
		if *update {
			if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(bytes.TrimSpace(want), got) {
			t.Errorf("%s statement differs from %s:\n got %s\nwant %s", st.Kind, golden, got, want)
		}
	}
}
