package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func scanBytes(b []byte) Result {
	return New(WithDigest(false)).ScanReaderAt(context.Background(), bytes.NewReader(b), int64(len(b)))
}

func hasRule(r Result, rule string) bool {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

func describe(r Result) string {
	var s []string
	for _, f := range r.Findings {
		s = append(s, fmt.Sprintf("%s[%s]@%s:%d %s", f.Rule, f.Severity, f.Member, f.Offset, f.Message))
	}
	return fmt.Sprintf("format=%s verdict=%s findings=%s", r.Format, r.Verdict, strings.Join(s, "; "))
}

type sample struct {
	name    string
	data    []byte
	verdict Verdict
	rule    string // a finding with this rule must be present ("" for none)
	format  string // "" = don't check
}

func check(t *testing.T, cases []sample) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := scanBytes(c.data)
			if r.Verdict != c.verdict {
				t.Fatalf("verdict %s, want %s: %s", r.Verdict, c.verdict, describe(r))
			}
			if c.rule != "" && !hasRule(r, c.rule) {
				t.Fatalf("no %s finding: %s", c.rule, describe(r))
			}
			if c.verdict == Safe {
				for _, f := range r.Findings {
					if f.Severity != Safe {
						t.Fatalf("safe with findings: %s", describe(r))
					}
				}
			}
			if c.format != "" && r.Format != c.format {
				t.Fatalf("format %s, want %s", r.Format, c.format)
			}
		})
	}
}

func TestBenign(t *testing.T) {
	legacy := append(newPB(2).op(0x8a, 10).raw(legacyTorchMagic).stop(), newPB(2).op('M', 0xe9, 0x03).stop()...)
	legacy = append(legacy, newPB(2).op('}').stop()...)
	legacy = append(legacy, torchDataPkl()...)
	legacy = append(legacy, newPB(2).op(']').str("0").op('a').stop()...)
	legacy = append(legacy, []byte("\x06\x00\x00\x00\x00\x00\x00\x00\x80\x05rawfloatdata0123456789")...)
	check(t, []sample{
		{"torch data.pkl", torchDataPkl(), Safe, "", FormatPickle},
		{"numpy ndarray", numpyPkl(), Safe, "", FormatPickle},
		{"torch zip", torchZip(t, torchDataPkl()), Safe, "", FormatPyTorchZip},
		{"torch zip deflated", deflateZipOf(t, [2]string{"m/data.pkl", string(torchDataPkl())}, [2]string{"m/data/0", "\x80\x02junk"}), Safe, "", FormatPyTorchZip},
		{"torch legacy", legacy, Safe, "", FormatPyTorchLeg},
		{"protocol 0 list", []byte("(lp0\nI1\naI2\na."), Safe, "", FormatPickle},
		{"protocol 4 frame", newPB(4).op(0x95, 3, 0, 0, 0, 0, 0, 0, 0).op(0x8c, 1, 'x').memoize().stop(), Safe, "", FormatPickle},
		{"protocol 5 set", newPB(5).op(0x8f).mark().int1(1).op(0x90).stop(), Safe, "", FormatPickle},
		{"npy float", npyBytes("<f4", make([]byte, 12)), Safe, "", FormatNPY},
		{"npz", zipOf(t, [2]string{"a.npy", string(npyBytes("<f4", make([]byte, 12)))}, [2]string{"b.npy", string(npyBytes("|u1", make([]byte, 3)))}), Safe, "", FormatNPZ},
		{"gzip pickle", gz(numpyPkl()), Safe, "", "gzip/pickle"},
		{"zlib pickle", zl(numpyPkl()), Safe, "", "zlib/pickle"},
		{"concatenated", append(numpyPkl(), torchDataPkl()...), Safe, "", FormatPickle},
		{"gguf", append([]byte("GGUF\x03\x00\x00\x00"), make([]byte, 16)...), Safe, "", FormatGGUF},
		{"keras h5", append([]byte("\x89HDF\r\n\x1a\n"), []byte(`....model_config{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense"}]}}`)...), Safe, "", FormatKerasHDF5},
		{"safetensors", safetensorsOf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8), Safe, "", FormatSafetensors},
	})
}

func TestMalicious(t *testing.T) {
	rce := func(p *pb) []byte { return p.str("id").op(0x85).reduce().stop() }
	// names built on the stack through the memo
	memoTrick := newPB(4).str("o").binput(1).op('0').str("s").binput(2).op('0').
		binget(1).binget(2).op('0').op('0').str("os").str("system").stackGlobal().binput(3).op('0').binget(3).str("id").op(0x85).reduce().stop()
	// STACK_GLOBAL whose name is computed by a call
	computed := newPB(4).str("os").global("builtins", "str").str("system").op(0x85).reduce().stackGlobal().str("id").op(0x85).reduce().stop()
	check(t, []sample{
		{"GLOBAL os.system", rce(newPB(2).global("os", "system")), Malicious, "dangerous-import", ""},
		{"posix.system", rce(newPB(2).global("posix", "system")), Malicious, "dangerous-import", ""},
		{"subprocess.Popen", rce(newPB(2).global("subprocess", "Popen")), Malicious, "dangerous-import", ""},
		{"builtins.eval", rce(newPB(2).global("builtins", "eval")), Malicious, "dangerous-import", ""},
		{"__builtin__.eval py2", rce(newPB(2).global("__builtin__", "eval")), Malicious, "dangerous-import", ""},
		{"builtins.exec", rce(newPB(2).global("builtins", "exec")), Malicious, "dangerous-import", ""},
		{"builtins.open", rce(newPB(2).global("builtins", "open")), Malicious, "dangerous-import", ""},
		{"importlib.import_module", rce(newPB(2).global("importlib", "import_module")), Malicious, "dangerous-import", ""},
		{"operator.attrgetter", rce(newPB(2).global("operator", "attrgetter")), Malicious, "dangerous-import", ""},
		{"_operator.methodcaller", rce(newPB(2).global("_operator", "methodcaller")), Malicious, "dangerous-import", ""},
		{"pkgutil.resolve_name", rce(newPB(2).global("pkgutil", "resolve_name")), Malicious, "dangerous-import", ""},
		{"builtins.getattr indirect", newPB(2).global("builtins", "getattr").call("importlib", "import_module", "os").str("system").op(0x86).reduce().str("id").op(0x85).reduce().stop(), Malicious, "dangerous-import", ""},
		{"socket", rce(newPB(2).global("socket", "create_connection")), Malicious, "dangerous-import", ""},
		{"runpy", rce(newPB(2).global("runpy", "run_path")), Malicious, "dangerous-import", ""},
		{"nested loader torch.load", rce(newPB(2).global("torch", "load")), Malicious, "dangerous-import", ""},
		{"nested loader pickle.loads", rce(newPB(2).global("pickle", "loads")), Malicious, "dangerous-import", ""},
		{"numpy runstring", rce(newPB(2).global("numpy.testing._private.utils", "runstring")), Malicious, "dangerous-import", ""},
		{"dunder walk", rce(newPB(4).str("collections").str("OrderedDict.__init__.__globals__").stackGlobal()), Malicious, "dunder-attribute", ""},
		{"STACK_GLOBAL", rce(newPB(4).str("os").str("system").stackGlobal()), Malicious, "dangerous-import", ""},
		{"STACK_GLOBAL BINUNICODE", rce(newPB(4).binunicode("subprocess").binunicode("check_output").stackGlobal()), Malicious, "dangerous-import", ""},
		{"memo trick", memoTrick, Malicious, "dangerous-import", ""},
		{"computed name", computed, Malicious, "computed-import-name", ""},
		{"INST", newPB(0).mark().str("id").inst("os", "system").stop(), Malicious, "dangerous-import", ""},
		{"protocol 0 INST text", []byte("(S'id'\nios\nsystem\np0\n."), Malicious, "dangerous-import", ""},
		{"OBJ", newPB(2).mark().global("subprocess", "Popen").str("id").op('o').stop(), Malicious, "dangerous-import", ""},
		{"NEWOBJ", newPB(2).global("subprocess", "Popen").str("id").op(0x85).op(0x81).stop(), Malicious, "dangerous-import", ""},
		{"NEWOBJ_EX", newPB(4).global("subprocess", "Popen").str("id").op(0x85).op('}').op(0x92).stop(), Malicious, "dangerous-import", ""},
		{"EXT1", newPB(2).op(0x82, 1).str("id").op(0x85).reduce().stop(), Malicious, "extension-code", ""},
		{"EXT2", newPB(2).op(0x83, 1, 2).emptyTuple().reduce().stop(), Malicious, "extension-code", ""},
		{"EXT4", newPB(2).op(0x84, 1, 2, 3, 4).emptyTuple().reduce().stop(), Malicious, "extension-code", ""},
		{"BUILD on global", newPB(2).global("torch", "Size").op('}').str("x").int1(1).op('s').build().stop(), Malicious, "mutate-global", ""},
		{"second pickle malicious", append(numpyPkl(), rce(newPB(2).global("os", "system"))...), Malicious, "dangerous-import", ""},
		{"torch zip malicious", torchZip(t, rce(newPB(2).global("os", "system"))), Malicious, "dangerous-import", FormatPyTorchZip},
		{"torch zip extra pkl", zipOf(t, [2]string{"a/data.pkl", string(torchDataPkl())}, [2]string{"a/extra.pkl", string(rce(newPB(2).global("os", "system")))}), Malicious, "dangerous-import", ""},
		{"nested zip in zip", zipOf(t, [2]string{"outer/inner.zip", string(torchZip(t, rce(newPB(2).global("os", "system"))))}), Malicious, "dangerous-import", ""},
		{"zip in tar in gzip", gz(tarOf(t, [2]string{"m.pt", string(deflateZipOf(t, [2]string{"a/data.pkl", string(rce(newPB(2).global("os", "system")))}))})), Malicious, "dangerous-import", ""},
		{"pickle in tar", tarOf(t, [2]string{"pickle", string(rce(newPB(2).global("os", "system")))}), Malicious, "dangerous-import", FormatPyTorchTar},
		{"gzip pickle", gz(rce(newPB(2).global("os", "system"))), Malicious, "dangerous-import", ""},
		{"npy object", npyBytes("|O", rce(newPB(2).global("os", "system"))), Malicious, "dangerous-import", FormatNPY},
		{"npz object", zipOf(t, [2]string{"a.npy", string(npyBytes("|O", rce(newPB(2).global("os", "system"))))}), Malicious, "dangerous-import", FormatNPZ},
		{"polyglot pickle+zip", append(rce(newPB(2).global("os", "system")), torchZip(t, torchDataPkl())...), Malicious, "polyglot", ""},
		{"polyglot benign pickle+zip", append(numpyPkl(), torchZip(t, torchDataPkl())...), Malicious, "polyglot", ""},
		{"duplicate zip member", zipOf(t, [2]string{"a/data.pkl", string(torchDataPkl())}, [2]string{"a/data.pkl", string(rce(newPB(2).global("os", "system")))}), Malicious, "duplicate-member", ""},
		{"keras lambda h5", append([]byte("\x89HDF\r\n\x1a\n"), []byte(`model_config{"class_name": "Lambda", "config": {"function": "4wEAAAAA"}}`)...), Malicious, "keras-lambda-layer", FormatKerasHDF5},
		{"keras v3 lambda", zipOf(t, [2]string{"config.json", `{"class_name": "Lambda"}`}, [2]string{"metadata.json", "{}"}), Malicious, "keras-lambda-layer", FormatKeras},
		{"keras v3 benign", zipOf(t, [2]string{"config.json", `{"class_name": "Sequential"}`}, [2]string{"metadata.json", `{"keras_version": "3.0"}`}, [2]string{"model.weights.h5", "\x89HDF\r\n\x1a\n"}), Safe, "", FormatKeras},
		{"keras escaped", append([]byte("\x89HDF\r\n\x1a\n"), []byte(`model_config{"class_name": "\u004cambda"}`)...), Unknown, "json-escapes", ""},
	})
}

func TestUnknown(t *testing.T) {
	check(t, []sample{
		{"unlisted import", newPB(2).global("sklearn.linear_model", "LogisticRegression").emptyTuple().reduce().stop(), Unknown, "import-not-allowed", ""},
		{"copyreg reconstructor", newPB(2).global("copyreg", "_reconstructor").emptyTuple().reduce().stop(), Unknown, "reconstructor-not-allowed", ""},
		{"copyreg reconstructor of a third-party class", newPB(2).global("copyreg", "_reconstructor").global("sklearn.tree", "Tree").global("builtins", "object").op('N').op(0x87).reduce().op('}').build().stop(), Unknown, "reconstructor-not-allowed", ""},
		{"third-party __setstate__", newPB(2).global("sklearn.linear_model", "LogisticRegression").emptyTuple().op(0x81).op('}').build().stop(), Unknown, "method-call-on-object", ""},
		{"joblib", newPB(2).global("joblib.numpy_pickle", "NumpyArrayWrapper").emptyTuple().op(0x81).op('}').build().raw("RAWARRAYDATA").stop(), Unknown, "joblib-array-data", FormatJoblib},
		{"generic zip", zipOf(t, [2]string{"x.txt", "hello"}), Unknown, "generic-archive", ""},
		{"torchscript", zipOf(t, [2]string{"m/data.pkl", string(torchDataPkl())}, [2]string{"m/code/m.py", "import os"}), Unknown, "torchscript-code", ""},
		{"onnx custom domain", onnxModelOf([][]byte{onnxOpsetOf("", 17)}, [][]byte{onnxNodeOf("com.microsoft", "FusedGemm")}, nil), Unknown, "onnx-custom-domain", FormatONNX},
		{"random", []byte("\x01\x02hello world, not a model\xff"), Unknown, "unrecognized-format", FormatUnknown},
		{"hdf5 no keras", append([]byte("\x89HDF\r\n\x1a\n"), make([]byte, 100)...), Unknown, "hdf5-not-keras", FormatHDF5},
		{"call of computed", newPB(2).global("collections", "OrderedDict").emptyTuple().reduce().emptyTuple().reduce().stop(), Unknown, "call-of-computed-value", ""},
	})
}

// Malformed streams: as data.pkl their loader unpickles them, so the
// parser's error is the verdict; as a file of their own they are not
// pickles at all, unless they imported something before failing (CPython
// runs that much).
func TestMalformed(t *testing.T) {
	full := torchDataPkl()
	for _, c := range []struct {
		name     string
		data     []byte
		rule     string
		imported bool // the stream imports before it fails: a pickle on its own too
	}{
		{"truncated", full[:len(full)-1], "truncated", true},
		{"truncated mid", full[:len(full)/2], "truncated", true},
		{"unknown opcode", newPB(2).op(0xff).stop(), "malformed", false},
		{"empty stop", newPB(2).stop(), "malformed", false},
		{"bad get", newPB(2).binget(9).stop(), "malformed", false},
		{"no mark", newPB(2).tuple().stop(), "malformed", false},
		{"bad proto", []byte{0x80, 0x07, 'N', '.'}, "malformed", false},
		{"stack global bytes", newPB(4).bytesv("os").bytesv("system").stackGlobal().stop(), "malformed", false},
		{"huge long", append(newPB(2).op(0x8b, 0xff, 0xff, 0xff, 0x7f).Bytes(), 1, 2, 3), "truncated", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			check(t, []sample{{"as data.pkl", torchZip(t, c.data), Error, c.rule, FormatPyTorchZip}})
			if c.imported {
				check(t, []sample{{"alone", c.data, Error, c.rule, FormatPickle}})
				return
			}
			r := scanBytes(c.data)
			if r.Verdict != Unknown || r.Pickle || r.Format != FormatUnknown || !hasRule(r, "unrecognized-format") || len(r.Findings) != 1 || r.PickleGated() {
				t.Fatalf("alone: %s pickle=%v", describe(r), r.Pickle)
			}
		})
	}
	check(t, []sample{
		{"corrupt gzip", gz(numpyPkl())[:20], Error, "", ""},
		{"truncated npy", npyBytes("<f4", nil)[:9], Error, "truncated", ""},
	})
}

func TestLimits(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxStack, lim.MaxMemo, lim.MaxDecompressed = 100, 10, 1000
	s := New(WithDigest(false), WithLimits(lim))
	run := func(b []byte) Result {
		return s.ScanReaderAt(context.Background(), bytes.NewReader(b), int64(len(b)))
	}
	deep := newPB(2)
	for i := 0; i < 200; i++ {
		deep.op('N')
	}
	if r := run(deep.stop()); r.Verdict != Error || !hasRule(r, "limit-exceeded") {
		t.Errorf("stack: %s", describe(r))
	}
	memo := newPB(4).op('N')
	for i := 0; i < 20; i++ {
		memo.memoize()
	}
	if r := run(memo.stop()); r.Verdict != Error || !hasRule(r, "limit-exceeded") {
		t.Errorf("memo: %s", describe(r))
	}
	bomb := newPB(2).op('N', '0')
	for i := 0; i < 1000; i++ {
		bomb.op('N', '0')
	}
	if r := run(gz(bomb.stop())); r.Verdict != Error || !hasRule(r, "limit-exceeded") {
		t.Errorf("bomb: %s", describe(r))
	}
	nest := torchZip(t, torchDataPkl())
	for i := 0; i < 6; i++ {
		nest = zipOf(t, [2]string{fmt.Sprintf("n%d.zip", i), string(nest)})
	}
	if r := run(nest); r.Verdict == Safe || !hasRule(r, "limit-exceeded") {
		t.Errorf("nesting: %s", describe(r))
	}
}

// CPython is lenient with text literals; detection must be too, or a
// pickle could pass as "not a pickle" (run's refusal keys on that).
func TestProtocol0Leniency(t *testing.T) {
	check(t, []sample{
		{"odd ints and memo", []byte("(I 0x10\nI1_0\np 1_0\ng10\nS'id'\nios\nsystem\n."), Malicious, "dangerous-import", FormatPickle},
		{"float word", []byte("Finf\nF1e5\n0(S'x'\nios\nsystem\n."), Malicious, "dangerous-import", FormatPickle},
	})
	for _, text := range []string{"input\n", "Saved model\n", "hello", `{"a": 1}`, "Version 1\nhello\n", "(see notes)\n"} {
		// Text that is not a pickle is a companion file (text or JSON).
		if r := scanBytes([]byte(text)); r.Pickle || IsPickleFormat(r.Format) || r.Format != FormatText && r.Format != FormatJSON {
			t.Errorf("%q: %s pickle=%v", text, describe(r), r.Pickle)
		}
	}
}

// A GGUF file whose header bytes also run as a pickle: 'G' is BINFLOAT.
func TestGGUFPicklePolyglot(t *testing.T) {
	b := []byte("GGUF\x03\x00\x00\x00" + "\x00N0N0N0N" + "0N0N0N0N" + "0cos\nsystem\nX\x02\x00\x00\x00id\x85R.")
	b = append(b, make([]byte, 600)...)
	r := scanBytes(b)
	if r.Verdict != Malicious || !hasRule(r, "polyglot") || !hasRule(r, "dangerous-import") {
		t.Fatal(describe(r))
	}
	g := &gg{}
	g.str("general.architecture", "llama").tensor("w", 0, 0, 150)
	g.data = 600
	plain := g.bytes()
	if r := scanBytes(plain); r.Verdict != Safe {
		t.Fatal(describe(r))
	}
}

func TestScanFileRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	if _, err := New().ScanFile(context.Background(), fifo); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("fifo: %v", err)
	}
	if _, err := New().ScanFile(context.Background(), filepath.Join(dir, "missing")); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("missing: %v", err)
	}
}

func TestCountingReaderAtCountsDistinctBytes(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100)
	for _, tc := range []struct {
		name  string
		reads [][2]int64 // offset, length
		want  int64
	}{
		{"sequential", [][2]int64{{0, 10}, {10, 10}, {20, 5}}, 25},
		{"re-read header", [][2]int64{{0, 8}, {0, 8}, {0, 16}}, 16},
		{"disjoint then bridged", [][2]int64{{0, 10}, {50, 10}, {90, 10}, {5, 50}}, 70},
		{"adjacent out of order", [][2]int64{{20, 10}, {10, 10}, {30, 10}}, 30},
		{"past the end", [][2]int64{{95, 10}, {0, 100}}, 100},
	} {
		c := &countingReaderAt{r: bytes.NewReader(data)}
		for _, r := range tc.reads {
			c.ReadAt(make([]byte, r[1]), r[0])
		}
		if c.n != tc.want {
			t.Errorf("%s: n = %d, want %d (spans %v)", tc.name, c.n, tc.want, c.spans)
		}
	}
}
