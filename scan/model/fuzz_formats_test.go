package model

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Seeds for the format parsers added to the container walker: legacy torch
// members, joblib streams, ONNX and GGUF.
func formatSeeds(t testing.TB) map[string][][]byte {
	emptyList := newPB(2).op(']').stop()
	storages := tarStorages([]string{storageRec("0", "torch", "FloatStorage", 2, 4)}, emptyList)
	tensors := tensorsMember(tensorRec("t0", "0", "FloatTensor", 2))
	std := [][]byte{onnxOpsetOf("", 17)}
	onnxGood := onnxModelOf(std, [][]byte{onnxNodeOf("", "Relu"), onnxNodeOf("", "If", cat(pstr(1, "g"), pfield(6, pfield(1, onnxNodeOf("x.y", "Z")))))},
		[][]byte{onnxTensorOf("w"), onnxTensorOf("e", [2]string{"location", "w.bin"})},
		pfield(25, pstr(1, "F"), pstr(10, "d"), pfield(7, onnxNodeOf("", "Erf"))))
	g := &gg{}
	g.str("general.architecture", "llama").u32("general.alignment", 32).strArray("tokenizer.ggml.tokens", "a", "b").
		str("tokenizer.chat_template", chatml).tensor("a", 0, 0, 4).tensor("b", 8, 32, 32)
	g.data = 32 + 34
	joblib := newPB(4).wrapper("f8", 16, 2).raw("\x03\xff\xff\xff" + string(make([]byte, 16))).stop()
	return map[string][][]byte{
		"FuzzTorchTarMember": {[]byte(storages), []byte(tensors)},
		"FuzzONNX":           {onnxGood},
		"FuzzGGUF":           {g.bytes()},
		"FuzzChatTemplate":   {[]byte(chatml), []byte(llama3), []byte(`{{ ''.__class__ }}{% include 'x' %}{{ a|attr('_'~'_x') }}`)},
		"FuzzContainers": {
			tarOf(t, [2]string{"sys_info", string(sysInfoPkl())}, [2]string{"pickle", string(torchDataPkl())}, [2]string{"storages", storages}, [2]string{"tensors", tensors}),
			legacyFile(sysInfoPkl(), torchDataPkl(), keysPkl("0"), le64(6)+string(make([]byte, 24))),
			joblib, onnxGood, g.bytes(),
			npyBytes("|O", objectArrayPkl()),
		},
		"FuzzPickle": {joblib, newPB(4).wrapper("O8", -1, 2).raw(string(objectArrayPkl())).stop()},
	}
}

func bounded(t *testing.T, f func()) {
	start := time.Now()
	f()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func fuzzScan() *scan { return &scan{ctx: context.Background(), lim: fuzzLimits()} }

func FuzzTorchTarMember(f *testing.F) {
	for _, s := range formatSeeds(f)["FuzzTorchTarMember"] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bounded(t, func() {
			fuzzScan().scanTorchTarStorages(bufioReader(b), int64(len(b)), "")
			fuzzScan().scanTorchTarTensors(bufioReader(b), int64(len(b)), "")
		})
	})
}

func FuzzONNX(f *testing.F) {
	for _, s := range formatSeeds(f)["FuzzONNX"] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bounded(t, func() {
			sc := fuzzScan()
			sc.scanONNXAt(bytes.NewReader(b), int64(len(b)), "")
			for _, e := range sc.externals {
				if externalPathProblem(e.location) != "" {
					t.Fatalf("unconfined location %q passed", e.location)
				}
			}
		})
	})
}

func FuzzGGUF(f *testing.F) {
	for _, s := range formatSeeds(f)["FuzzGGUF"] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bounded(t, func() {
			fuzzScan().scanGGUF(bufioReader(b), int64(len(b)), "")
			fuzzScan().scanGGUF(bufioReader(b), -1, "")
		})
	})
}

func FuzzChatTemplate(f *testing.F) {
	for _, s := range formatSeeds(f)["FuzzChatTemplate"] {
		f.Add(string(s))
	}
	f.Fuzz(func(t *testing.T, s string) {
		sev, rule, msg := chatTemplateProblem(s)
		if (sev == Safe) != (rule == "") || (rule == "") != (msg == "") {
			t.Fatalf("sev %s rule %q msg %q", sev, rule, msg)
		}
		// A dunder written directly in an expression is always caught.
		if sev2, _, _ := chatTemplateProblem("{{ x.__class__ }}" + s); sev2 != Malicious {
			t.Fatalf("prefix dunder judged %s", sev2)
		}
	})
}

// TestWriteFormatFuzzCorpus regenerates the seeds of the format fuzz
// targets (MLATTEST_WRITE_FUZZ_CORPUS=1).
func TestWriteFormatFuzzCorpus(t *testing.T) {
	if os.Getenv("MLATTEST_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set MLATTEST_WRITE_FUZZ_CORPUS=1 to regenerate")
	}
	for target, seeds := range formatSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		for i, s := range seeds {
			typ := "[]byte"
			if target == "FuzzChatTemplate" {
				typ = "string"
			}
			body := "go test fuzz v1\n" + typ + "(" + strconv.Quote(string(s)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("format-seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
