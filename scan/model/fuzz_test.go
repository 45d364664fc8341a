package model

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzLimits keep every input cheap: small stacks, memo and decompression.
func fuzzLimits() Limits {
	l := DefaultLimits()
	l.MaxStack, l.MaxMemo = 1000, 1000
	l.MaxDecompressed, l.MaxBuffered = 1<<20, 1<<20
	l.MaxMembers, l.MaxFindings = 64, 32
	return l
}

func seedSamples(t testing.TB) [][]byte {
	evil := newPB(2).global("os", "system").str("id").op(0x85).reduce().stop()
	return [][]byte{
		torchDataPkl(), numpyPkl(), evil,
		[]byte("(S'id'\nios\nsystem\np0\n."),
		newPB(4).str("os").binput(0).str("system").stackGlobal().memoize().stop(),
		torchZip(t, torchDataPkl()),
		gz(numpyPkl()), zl(evil),
		tarOf(t, [2]string{"pickle", string(evil)}),
		npyBytes("|O", evil),
		safetensorsOf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4),
		append(evil, torchZip(t, torchDataPkl())...),
		// safetensors whose header length starts with PERSID / NEWTRUE STOP,
		// bytes that only start with PROTO, a pickle then junk
		safetensorsOf(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`+strings.Repeat(" ", 0x50-53), 1),
		safetensorsOf(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`+strings.Repeat(" ", 0x2e88-53), 1),
		[]byte("\x80\x02\x1e\xf3random bytes\x00\x01"),
		append(numpyPkl(), "zz\x00junk"...),
	}
}

// addFixtureSeeds adds the joblib, getattr and reconstructor fixtures
// written by Python (testdata/pickles) as seeds.
func addFixtureSeeds(f *testing.F) {
	for _, pat := range []string{"benign/joblib-*", "benign/*.p0.pkl", "benign/*.p5.pkl", "malicious/getattr-*"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "pickles", pat))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// checkBounded scans b and fails on a slow scan (loops are the concern;
// panics fail the fuzzer by themselves).
func checkBounded(t *testing.T, b []byte) Result {
	start := time.Now()
	r := New(WithDigest(false), WithLimits(fuzzLimits())).ScanReaderAt(context.Background(), bytes.NewReader(b), int64(len(b)))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("scan of %d bytes took %v", len(b), d)
	}
	if r.Verdict == "" {
		t.Fatal("no verdict")
	}
	return r
}

func FuzzPickle(f *testing.F) {
	for _, s := range seedSamples(f)[:5] {
		f.Add(s)
	}
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, forced := range []bool{false, true} {
			sc := &scan{ctx: context.Background(), lim: fuzzLimits()}
			format := sc.scanPickles(bufioReader(b), "", forced)
			// A stream without a STOP opcode byte can never be safe.
			if !bytes.Contains(b, []byte{'.'}) && len(sc.findings) == 0 {
				t.Fatalf("stream without STOP judged safe (forced %v)", forced)
			}
			// Only a stream that is not a pickle may say so, and never when
			// its loader unpickles it.
			if (format == FormatUnknown) == sc.pickle || forced && format == FormatUnknown {
				t.Fatalf("format %q pickle %v (forced %v)", format, sc.pickle, forced)
			}
		}
	})
}

func FuzzSafetensorsHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`), uint64(4))
	f.Add([]byte(`{"__metadata__":{"k":"v"},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}`), uint64(8))
	f.Add([]byte(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`), uint64(2))
	f.Fuzz(func(t *testing.T, h []byte, dataLen uint64) {
		rule, msg := ValidateSafetensorsHeader(h, dataLen)
		if (rule == "") != (msg == "") {
			t.Fatalf("rule %q msg %q", rule, msg)
		}
	})
}

func FuzzContainers(f *testing.F) {
	for _, s := range seedSamples(f) {
		f.Add(s)
	}
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBounded(t, b)
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz from the samples
// (MLATTEST_WRITE_FUZZ_CORPUS=1).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("MLATTEST_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set MLATTEST_WRITE_FUZZ_CORPUS=1 to regenerate")
	}
	for i, s := range seedSamples(t) {
		for _, target := range []string{"FuzzPickle", "FuzzContainers"} {
			if target == "FuzzPickle" && i >= 5 {
				continue
			}
			dir := filepath.Join("testdata", "fuzz", target)
			os.MkdirAll(dir, 0o755)
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
