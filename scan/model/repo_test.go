package model

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The honest repositories under testdata/repos are made by
// testdata/repos/make.py with Debian's python3-sentencepiece and
// python3-torch (the command is in the script's doc).
var honestRepos = map[string][]string{ // repository -> formats it must show
	"causal-lm-sharded":  {FormatSafetensors, FormatJSON, FormatText},
	"gpt2-bpe":           {FormatPyTorchZip, FormatJSON, FormatText},
	"bert-vocab-image":   {FormatSafetensors, FormatPNG, FormatText},
	"lora-adapter":       {FormatSafetensors, FormatSentencepiece, FormatJSON, FormatText},
	"trainer-checkpoint": {FormatSafetensors, FormatPyTorchZip, FormatJSON},
}

// scanRepo scans dir and returns the results by slash path relative to it.
func scanRepo(t *testing.T, dir string) map[string]Result {
	t.Helper()
	got := map[string]Result{}
	err := New().ScanPaths(context.Background(), []string{dir}, func(r Result) error {
		rel, err := filepath.Rel(dir, r.Path)
		if err != nil {
			return err
		}
		got[filepath.ToSlash(rel)] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestHonestRepositories(t *testing.T) {
	for repo, formats := range honestRepos {
		t.Run(repo, func(t *testing.T) {
			got := scanRepo(t, filepath.Join("testdata", "repos", repo))
			if len(got) < 8 {
				t.Fatalf("only %d files", len(got))
			}
			seen := map[string]bool{}
			for p, r := range got {
				seen[r.Format] = true
				if r.Verdict != Safe || len(r.Findings) != 0 {
					t.Errorf("%s: %s", p, describe(r))
				}
			}
			for _, f := range formats {
				if !seen[f] {
					t.Errorf("no %s file", f)
				}
			}
		})
	}
}

func copyRepo(t *testing.T, repo string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), repo)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", "repos", repo))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func readFixture(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFixture(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit replaces old with new in dir/name, which must contain old.
func edit(t *testing.T, dir, name, old, new string) {
	t.Helper()
	s := readFixture(t, filepath.Join(dir, name))
	if !strings.Contains(s, old) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	writeFixture(t, dir, name, strings.Replace(s, old, new, 1))
}

// TestHostileRepositories: each variant makes the files it touches
// non-safe with a named finding; every other file stays safe.
func TestHostileRepositories(t *testing.T) {
	hostile := func(name string) string {
		return jsonQuote(readFixture(t, filepath.Join("testdata", "templates", "hostile", name)))
	}
	evilPickle := string(newPB(2).global("os", "system").str("id").op(0x85).reduce().stop())
	const index = "model.safetensors.index.json"
	cases := []struct {
		name, repo string
		mutate     func(t *testing.T, dir string)
		want       map[string]string // touched file -> rule
	}{
		{"auto_map in config", "causal-lm-sharded", func(t *testing.T, d string) {
			edit(t, d, "config.json", `"architectures"`, `"auto_map": {"AutoModelForCausalLM": "modeling_qwen2x.Qwen2X"}, "architectures"`)
		}, map[string]string{"config.json": RuleRemoteCode}},
		{"modeling code shipped", "causal-lm-sharded", func(t *testing.T, d string) {
			writeFixture(t, d, "modeling_qwen2x.py", "import os\nos.system('id')\n")
		}, map[string]string{"modeling_qwen2x.py": RuleCode}},
		{"hostile chat_template", "causal-lm-sharded", func(t *testing.T, d string) {
			edit(t, d, "tokenizer_config.json", `"chat_template": "`, `"chat_template": `+hostile("dunder-globals.jinja")+`, "x": "`)
		}, map[string]string{"tokenizer_config.json": ruleChatTemplateSSTI}},
		{"index climbs out", "causal-lm-sharded", func(t *testing.T, d string) {
			edit(t, d, index, `"lm_head.weight": "model-00002-of-00002.safetensors"`, `"lm_head.weight": "../model-00002-of-00002.safetensors"`)
		}, map[string]string{index: RuleShardIndexPath}},
		{"index names a pickle shard", "causal-lm-sharded", func(t *testing.T, d string) {
			writeFixture(t, d, "pytorch_model-00002.bin", readFixture(t, "testdata/repos/gpt2-bpe/pytorch_model.bin"))
			s := strings.ReplaceAll(readFixture(t, filepath.Join(d, index)), `"model-00002-of-00002.safetensors"`, `"pytorch_model-00002.bin"`)
			writeFixture(t, d, index, s)
		}, map[string]string{index: RuleShardIndexFormat}},
		{"index maps a tensor to the wrong shard", "causal-lm-sharded", func(t *testing.T, d string) {
			edit(t, d, index, `"lm_head.weight": "model-00002-of-00002.safetensors"`, `"lm_head.weight": "model-00001-of-00002.safetensors"`)
		}, map[string]string{index: RuleShardIndexTensors}},
		{"index names a missing shard", "causal-lm-sharded", func(t *testing.T, d string) {
			edit(t, d, index, `"lm_head.weight": "model-00002-of-00002.safetensors"`, `"lm_head.weight": "model-00003-of-00002.safetensors"`)
		}, map[string]string{index: RuleShardIndexMissing}},
		{"image with a payload after its end", "bert-vocab-image", func(t *testing.T, d string) {
			writeFixture(t, d, "images/architecture.png", readFixture(t, filepath.Join(d, "images/architecture.png"))+"import os\nos.system('id')\n")
		}, map[string]string{"images/architecture.png": "image-structure"}},
		{"config with a duplicate key", "bert-vocab-image", func(t *testing.T, d string) {
			edit(t, d, "config.json", `"model_type": "bert"`, `"model_type": "bert", "model_type": "custom"`)
		}, map[string]string{"config.json": RuleCompanionMismatch}},
		{"hostile chat_template.jinja", "lora-adapter", func(t *testing.T, d string) {
			writeFixture(t, d, "chat_template.jinja", readFixture(t, "testdata/templates/hostile/attr-format.jinja"))
		}, map[string]string{"chat_template.jinja": ruleChatTemplateSSTI}},
		{"hostile template in a template list", "lora-adapter", func(t *testing.T, d string) {
			edit(t, d, "tokenizer_config.json", `"name": "tool_use",`, `"name": "tool_use", "template": `+hostile("map-attribute.jinja")+`}, {"name": "x",`)
		}, map[string]string{"tokenizer_config.json": ruleChatTemplateSSTI}},
		{"pickle as tokenizer.model", "lora-adapter", func(t *testing.T, d string) {
			writeFixture(t, d, "tokenizer.model", evilPickle)
		}, map[string]string{"tokenizer.model": "dangerous-import"}},
		{"custom_pipelines in config", "gpt2-bpe", func(t *testing.T, d string) {
			edit(t, d, "config.json", `"architectures"`, `"custom_pipelines": {"text-generation": {"impl": "gen_pipe.GenPipeline", "pt": ["AutoModelForCausalLM"]}}, "architectures"`)
		}, map[string]string{"config.json": RuleRemoteCode}},
		{"notebook shipped", "gpt2-bpe", func(t *testing.T, d string) {
			writeFixture(t, d, "demo.json", `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`)
		}, map[string]string{"demo.json": RuleCode}},
		{"malicious rng state", "trainer-checkpoint", func(t *testing.T, d string) {
			writeFixture(t, d, "checkpoint-500/rng_state.pth", evilPickle)
		}, map[string]string{"checkpoint-500/rng_state.pth": "dangerous-import"}},
		{"truncated trainer_state", "trainer-checkpoint", func(t *testing.T, d string) {
			s := readFixture(t, filepath.Join(d, "checkpoint-500/trainer_state.json"))
			writeFixture(t, d, "checkpoint-500/trainer_state.json", s[:len(s)/2])
		}, map[string]string{"checkpoint-500/trainer_state.json": RuleCompanionMismatch}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyRepo(t, c.repo)
			c.mutate(t, dir)
			got := scanRepo(t, dir)
			for p, r := range got {
				rule, touched := c.want[p]
				switch {
				case touched && (r.Verdict == Safe || !hasRule(r, rule)):
					t.Errorf("%s: want a %s finding, not safe: %s", p, rule, describe(r))
				case !touched && r.Verdict != Safe:
					t.Errorf("%s (untouched): %s", p, describe(r))
				}
			}
			for p := range c.want {
				if _, ok := got[p]; !ok {
					t.Errorf("%s was not scanned", p)
				}
			}
		})
	}
}

// TestShardIndexAlone: an index scanned by itself resolves its targets on
// disk next to it; a PyTorch index demands PyTorch shards.
func TestShardIndexAlone(t *testing.T) {
	ctx := context.Background()
	r, err := New().ScanFile(ctx, "testdata/repos/causal-lm-sharded/model.safetensors.index.json")
	if err != nil || r.Verdict != Safe || r.Format != FormatJSON {
		t.Fatalf("%v %s", err, describe(r))
	}
	dir := copyRepo(t, "gpt2-bpe")
	const idx = "pytorch_model.bin.index.json"
	writeFixture(t, dir, idx, `{"metadata": {"total_size": 1}, "weight_map": {"lm_head.weight": "pytorch_model.bin"}}`)
	if r, err := New().ScanFile(ctx, filepath.Join(dir, idx)); err != nil || r.Verdict != Safe {
		t.Fatalf("pytorch index: %v %s", err, describe(r))
	}
	writeFixture(t, dir, "model.safetensors", readFixture(t, "testdata/repos/bert-vocab-image/model.safetensors"))
	writeFixture(t, dir, idx, `{"weight_map": {"lm_head.weight": "pytorch_model.bin", "x": "model.safetensors"}}`)
	if r, err := New().ScanFile(ctx, filepath.Join(dir, idx)); err != nil || r.Verdict != Unknown || !hasRule(r, RuleShardIndexFormat) {
		t.Fatalf("safetensors shard in a pytorch index: %v %s", err, describe(r))
	}
	// A link is not a regular file next to the index.
	if err := os.Symlink("pytorch_model.bin", filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}
	writeFixture(t, dir, idx, `{"weight_map": {"lm_head.weight": "link.bin"}}`)
	if r, err := New().ScanFile(ctx, filepath.Join(dir, idx)); err != nil || !hasRule(r, RuleShardIndexMissing) {
		t.Fatalf("link target: %v %s", err, describe(r))
	}
	for _, c := range []struct{ wm, rule string }{
		{`[]`, RuleShardIndex},
		{`{"a": 1}`, RuleShardIndex},
		{`{"a": "/etc/passwd"}`, RuleShardIndexPath},
		{`{"a": "sub/../x.bin"}`, RuleShardIndexPath},
		{`{"a": "./x.bin"}`, RuleShardIndexPath},
		{`{"a": "C:x.bin"}`, RuleShardIndexPath},
	} {
		r := scanNamed("model.safetensors.index.json", []byte(`{"weight_map": `+c.wm+`}`))
		if r.Verdict == Safe || !hasRule(r, c.rule) {
			t.Errorf("%s: %s", c.wm, describe(r))
		}
	}
}
