package model

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Fixtures written by Python's own pickler, numpy and joblib
// (testdata/pickles/make.py says how): every benign file is safe, every
// malicious one malicious, and honest files whose classes the scanner
// cannot judge (a partial, the training script's own classes) unknown.
func TestPickleFixtures(t *testing.T) {
	for dir, want := range map[string]Verdict{"benign": Safe, "malicious": Malicious, "unknown": Unknown} {
		files, err := filepath.Glob(filepath.Join("testdata", "pickles", dir, "*"))
		if err != nil || len(files) < 18 {
			t.Fatalf("%s: %d files, %v", dir, len(files), err)
		}
		for _, p := range files {
			t.Run(dir+"/"+filepath.Base(p), func(t *testing.T) {
				r, err := New(WithDigest(false)).ScanFile(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				if r.Verdict != want || !r.Pickle {
					t.Fatalf("%s pickle=%v", describe(r), r.Pickle)
				}
			})
		}
	}
	if _, err := os.Stat(filepath.Join("testdata", "pickles", "make.py")); err != nil {
		t.Fatal(err)
	}
}

// Imports are judged by the fully qualified callable they resolve to,
// never by their module: constant getattr targets and dotted names are
// resolved first, so a dangerous callable hidden behind an allowed module
// or class is still malicious, and data constructors that live next to
// dangerous functions are not.
func TestImportJudgedByCallable(t *testing.T) {
	getattr := func(p *pb) *pb { return p.global("builtins", "getattr") }
	check(t, []sample{
		// hidden dangerous callables
		{"getattr(uuid.os, system)", getattr(newPB(2)).global("uuid", "os").str("system").op(0x86).reduce().str("id").op(0x85).reduce().stop(), Malicious, "dangerous-import", ""},
		{"dotted uuid os.system", newPB(4).str("uuid").str("os.system").stackGlobal().str("id").op(0x85).reduce().stop(), Malicious, "dangerous-import", ""},
		{"dotted datetime sys.modules", newPB(4).str("datetime").str("sys.modules").stackGlobal().stop(), Malicious, "dangerous-import", ""},
		{"getattr(OrderedDict, __init__)", getattr(newPB(2)).global("collections", "OrderedDict").str("__init__").op(0x86).reduce().stop(), Malicious, "dunder-attribute", ""},
		{"getattr(getattr(dict, fromkeys), __globals__)", getattr(newPB(2)).op('(').global("builtins", "getattr").global("builtins", "dict").str("fromkeys").op(0x86).reduce().str("__globals__").tuple().reduce().stop(), Malicious, "dunder-attribute", ""},
		{"getattr of a computed value", getattr(newPB(2)).global("collections", "OrderedDict").emptyTuple().reduce().str("update").op(0x86).reduce().stop(), Malicious, "getattr-unresolved", ""},
		{"getattr passed to defaultdict", newPB(2).global("collections", "defaultdict").global("builtins", "getattr").op(0x85).reduce().stop(), Malicious, "getattr-unresolved", ""},
		{"getattr memoized and called twice", getattr(newPB(2)).binput(0).global("builtins", "dict").str("fromkeys").op(0x86).reduce().op('0').binget(0).global("builtins", "int").str("from_bytes").op(0x86).reduce().stop(), Safe, "", ""},
		{"sklearn-vendored joblib wrapper", newPB(2).global("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper").emptyTuple().op(0x81).op('}').str("dtype").global("numpy", "dtype").str("u1").int1(0).int1(1).op(0x87).reduce().op('s').str("shape").int1(3).op(0x85).op('s').build().raw("\x00\x01\x02").op('N').stop(), Safe, "", FormatJoblib},
		{"getattr with a computed name", getattr(newPB(2)).global("builtins", "dict").global("builtins", "str").emptyTuple().reduce().op(0x86).reduce().stop(), Malicious, "getattr-unresolved", ""},
		{"reconstructor of Popen", newPB(2).global("copyreg", "_reconstructor").global("subprocess", "Popen").global("builtins", "object").op('N').op(0x87).reduce().stop(), Malicious, "dangerous-import", ""},
		{"reconstructor on base os.system", newPB(2).global("copyreg", "_reconstructor").global("collections", "OrderedDict").global("os", "system").str("id").op(0x87).reduce().stop(), Malicious, "dangerous-import", ""},
		{"py2 __builtin__ reduce", newPB(2).global("__builtin__", "reduce").stop(), Malicious, "dangerous-import", ""},
		// constant getattr and reconstructor of allowed value types
		{"getattr(dict, fromkeys)", getattr(newPB(1)).global("builtins", "dict").str("fromkeys").op(0x86).reduce().mark().str("a").op('l').reduce().stop(), Safe, "", ""},
		{"reconstructor of Namespace", newPB(1).global("copyreg", "_reconstructor").global("argparse", "Namespace").global("builtins", "object").op('N').op(0x87).reduce().op('}').str("lr").int1(1).op('s').build().stop(), Safe, "", ""},
		{"reconstructor of dict subclass on dict", newPB(1).global("copyreg", "_reconstructor").global("collections", "OrderedDict").global("builtins", "dict").op('}').op(0x87).reduce().stop(), Safe, "", ""},
		// data constructors in modules that also hold dangerous functions
		{"types.SimpleNamespace", newPB(2).global("types", "SimpleNamespace").emptyTuple().reduce().stop(), Safe, "", ""},
		{"pathlib.PurePosixPath", newPB(2).global("pathlib", "PurePosixPath").str("/x").op(0x85).reduce().stop(), Safe, "", ""},
		{"http.HTTPStatus", newPB(2).global("http", "HTTPStatus").int1(200).op(0x85).reduce().stop(), Safe, "", ""},
		{"http.client.HTTPConnection", newPB(2).global("http.client", "HTTPConnection").str("x").op(0x85).reduce().stop(), Malicious, "dangerous-import", ""},
		{"io.BytesIO", newPB(2).global("io", "BytesIO").bytesv("x").op(0x85).reduce().stop(), Unknown, "import-not-allowed", ""},
		{"numpy random state", newPB(2).global("numpy.random._pickle", "__randomstate_ctor").emptyTuple().reduce().stop(), Safe, "", ""},
		{"__main__ class", newPB(2).global("__main__", "Point").emptyTuple().reduce().stop(), Unknown, "import-not-allowed", ""},
	})
}
