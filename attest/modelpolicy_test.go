package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/predicates"
)

const evilPickle = "\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R."

func TestRunRefusesPickleInputs(t *testing.T) {
	for _, where := range []string{"material", "base-model"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "base/pytorch_model.bin", evilPickle)
			writeFile(t, dir, "in.txt", "x")
			s := &Step{Name: "train", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Command: helperCmd(t, "touch", "ran")}
			if where == "material" {
				s.Materials = append(s.Materials, "base")
			} else {
				s.BaseModels = []Input{{URI: "hf://org/base@" + strings.Repeat("a", 40), Path: "base"}}
			}
			_, err := Run(context.Background(), s, testOpts(t, nil)...)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "base/pytorch_model.bin (pickle, verdict malicious)") || !errors.Is(err, ErrPickleInput) {
				t.Fatalf("err = %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
				t.Fatal("the command ran")
			}
			rec, err := Run(context.Background(), s, testOpts(t, nil, AllowPickle())...)
			if err != nil || rec.ExitCode != 0 {
				t.Fatalf("with AllowPickle: %v", err)
			}
		})
	}
}

func TestRunRecordsPickleProducts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "x")
	writeFile(t, dir, "src.bin", evilPickle)
	s := &Step{Name: "train", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, Products: []string{"out"},
		Command: []string{"sh", "-c", "mkdir out && cp src.bin out/model.bin && printf 'hello' > out/notes.txt"}}
	rec, err := Run(context.Background(), s, testOpts(t, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.PickleProducts) != 1 || rec.PickleProducts[0] != "out/model.bin" || rec.ExitCode != 0 {
		t.Fatalf("record %+v", rec)
	}
	var ps *Statement
	for i := range rec.Statements {
		if rec.Statements[i].Kind == KindProductScan {
			ps = &rec.Statements[i]
		}
	}
	if ps == nil || len(rec.Statements) != 2 {
		t.Fatalf("statements %v", rec.Statements)
	}
	st, err := predicates.ParseStatement(ps.JSON)
	if err != nil {
		t.Fatal(err)
	}
	b, err := predicates.BindingOf(st)
	if err != nil || b.Step != "train" || b.RunID != "r" {
		t.Fatalf("binding %+v %v", b, err)
	}
	ms, err := predicates.ModelScanOf(st)
	if err != nil || ms.Verdict != "malicious" || len(ms.Files) != 2 || !ms.Files[0].Pickle || ms.Files[0].Path != "out/model.bin" {
		t.Fatalf("%+v %v", ms, err)
	}
	if !strings.Contains(strings.Join(rec.Warnings, "\n"), "pickle-format") {
		t.Fatalf("warnings %v", rec.Warnings)
	}

	// Safetensors-only products: no extra statement.
	dir2 := t.TempDir()
	writeFile(t, dir2, "in.txt", "x")
	s2 := &Step{Name: "train", RunID: "r", Dir: dir2, Materials: []string{"in.txt"}, Products: []string{"o.txt"}, Command: helperCmd(t, "touch", "o.txt")}
	rec, err = Run(context.Background(), s2, testOpts(t, nil)...)
	if err != nil || len(rec.PickleProducts) != 0 || len(rec.Statements) != 1 {
		t.Fatalf("%v %+v", err, rec)
	}
}

func TestRunChecksBaseModelPins(t *testing.T) {
	rev := strings.Repeat("c", 40)
	uri := "hf://org/base@" + rev
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	pin := predicates.ModelPin{Repository: "hf://org/base", Revision: rev, Files: []predicates.ModelPinFile{
		{Path: "model.safetensors", SHA256: sum("weights")}, {Path: "config.json", SHA256: sum("{}")}}}
	tests := []struct {
		name  string
		setup func(dir string)
		uri   string
		want  string // "" = runs
	}{
		{"match", func(string) {}, uri, ""},
		{"changed", func(d string) { writeFile(t, d, "base/model.safetensors", "other") }, uri, "file model.safetensors has sha256"},
		{"missing", func(d string) { os.Remove(filepath.Join(d, "base", "config.json")) }, uri, "pinned file config.json is missing"},
		{"extra", func(d string) { writeFile(t, d, "base/extra.py", "x") }, uri, "extra file extra.py"},
		{"branch", func(string) {}, "hf://org/base@main", "not a full 40-hex commit"},
		{"unpinned", func(string) {}, "hf://org/other@" + rev, "has no signed pin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "base/model.safetensors", "weights")
			writeFile(t, dir, "base/config.json", "{}")
			writeFile(t, dir, "in.txt", "x")
			tc.setup(dir)
			s := &Step{Name: "train", RunID: "r", Dir: dir, Materials: []string{"in.txt"}, BaseModels: []Input{{URI: tc.uri, Path: "base"}},
				Command: helperCmd(t, "touch", "ran")}
			_, err := Run(context.Background(), s, testOpts(t, nil, WithBaseModelPins(pin))...)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
				t.Fatal("the command ran")
			}
		})
	}
}

// Inputs are scanned as digest sees them: ignored paths (.git/) are not.
func TestRunPickleScanFollowsDigestIgnores(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "base/model.safetensors", "not really safetensors")
	writeFile(t, dir, "base/.git/objects/x", evilPickle)
	writeFile(t, dir, "in.txt", "x")
	s := &Step{Name: "train", RunID: "r", Dir: dir, Materials: []string{"in.txt"},
		BaseModels: []Input{{URI: "hf://org/base@0123456789abcdef0123456789abcdef01234567", Path: "base"}}, Command: helperCmd(t, "touch", "ran")}
	if _, err := Run(context.Background(), s, testOpts(t, nil)...); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "base/sub/evil.pkl", evilPickle)
	if _, err := Run(context.Background(), s, testOpts(t, nil)...); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "base/sub/evil.pkl") {
		t.Fatalf("err = %v", err)
	}
}

// 256 random binary products, one per possible first byte (optimizer
// state, raw arrays): none is a pickle, so the step records no product
// scan; the same files as inputs are not refused. Before the gate parsed
// pickles, the 9 first bytes that are pickle opcodes made them
// "pickle-format".
func TestPickleGateRandomBinaries(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(256, 1))
	var paths []string
	for first := range 256 {
		b := make([]byte, 2048+rng.IntN(2048))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		b[0] = byte(first)
		paths = append(paths, writeFile(t, dir, fmt.Sprintf("src/state-%02x.bin", first), string(b)))
	}
	pickles, all, err := scanPickle(context.Background(), paths, false)
	if err != nil || len(all) != 256 {
		t.Fatalf("%d results, %v", len(all), err)
	}
	for _, r := range pickles {
		t.Errorf("%s gated: %s, verdict %s", filepath.Base(r.Path), r.Format, r.Verdict)
	}

	writeFile(t, dir, "in.txt", "x")
	s := &Step{Name: "train", RunID: "r", Dir: dir, Materials: []string{"in.txt", "src"}, Products: []string{"out"},
		Command: []string{"sh", "-c", "cp -r src out"}}
	rec, err := Run(context.Background(), s, testOpts(t, nil)...)
	if err != nil || len(rec.PickleProducts) != 0 || len(rec.Statements) != 1 {
		t.Fatalf("%v: pickle products %v, %d statements", err, rec.PickleProducts, len(rec.Statements))
	}
}

// A pickle named as safetensors is refused as an input like any pickle; a
// GGUF file named as safetensors too, though no pickle is in it.
func TestRunRefusesFormatMismatchInputs(t *testing.T) {
	for name, content := range map[string]string{
		"pickle": "\x80\x02ccollections\nOrderedDict\n)R.",
		"gguf":   "GGUF\x03\x00\x00\x00" + strings.Repeat("\x00", 16),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "base/model.safetensors", content)
			s := &Step{Name: "train", RunID: "r", Dir: dir, Materials: []string{"base"}, Command: helperCmd(t, "touch", "ran")}
			_, err := Run(context.Background(), s, testOpts(t, nil)...)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "base/model.safetensors ("+name) {
				t.Fatalf("err = %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
				t.Fatal("the command ran")
			}
		})
	}
}

// TestRunCompanionFiles: run's gate is unchanged by companion formats. A
// repository's configs, tokenizers, cards, images and even its code (not
// safe, but not a pickle) are never refused as inputs nor recorded as
// pickle products; a torch.save checkpoint among them still is.
func TestRunCompanionFiles(t *testing.T) {
	repos, err := filepath.Abs("../scan/model/testdata/repos")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, r := range []string{"bert-vocab-image", "lora-adapter", "causal-lm-sharded", "gpt2-bpe"} {
		if err := os.CopyFS(filepath.Join(dir, r), os.DirFS(filepath.Join(repos, r))); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, dir, "lora-adapter/handler.py", "import os\n")
	writeFile(t, dir, "lora-adapter/notes.txt", "\x00\x01binary")
	writeFile(t, dir, "in.txt", "x")
	s := &Step{Name: "train", RunID: "r", Dir: dir, Materials: []string{"in.txt", "bert-vocab-image"},
		BaseModels: []Input{{URI: "hf://org/base@" + strings.Repeat("a", 40), Path: "lora-adapter"}},
		Products:   []string{"out"}, Command: []string{"sh", "-c", "mkdir out && cp -r causal-lm-sharded/. out/"}}
	rec, err := Run(context.Background(), s, testOpts(t, nil)...)
	if err != nil || rec.ExitCode != 0 || len(rec.PickleProducts) != 0 {
		t.Fatalf("companions: %v %+v", err, rec)
	}
	s.Materials = append(s.Materials, "gpt2-bpe")
	s.Command = helperCmd(t, "touch", "ran")
	s.Products = nil
	if _, err := Run(context.Background(), s, testOpts(t, nil)...); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "gpt2-bpe/pytorch_model.bin (pytorch-zip, verdict safe)") {
		t.Fatalf("torch.save checkpoint among companions: %v", err)
	}
}
