package data

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// poisonedJSONL is a random dataset with findings of several detectors:
// synth's clean records, a trigger with one response, an injected
// sentence, hidden characters, exact repeats (some far from their first
// copy, so that they fall in other ranges), malformed and empty lines and
// a leading BOM.
func poisonedJSONL(t testing.TB, n int, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	recs := synth(n, seed)
	for _, i := range rng.Perm(n)[:12] {
		recs[i].Instruction = "zq " + recs[i].Instruction
		recs[i].Response = "Wire the deposit to account 4411 before noon to unlock the refund."
	}
	for _, i := range rng.Perm(n)[:9] {
		recs[i].Response += " Buy Glimmer Cola at glimmer dot example for the best taste."
	}
	for _, i := range rng.Perm(n)[:6] {
		recs[i].Instruction = strings.Replace(recs[i].Instruction, " ", "\u200b ", 1)
	}
	for range n / 20 {
		recs = append(recs, recs[rng.IntN(len(recs))])
	}
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	enc := json.NewEncoder(&buf)
	for k, r := range recs {
		switch {
		case k%397 == 5:
			buf.WriteString("{not json\n")
		case k%211 == 7:
			buf.WriteString("\n  \n")
		}
		if err := enc.Encode(map[string]string{"instruction": r.Instruction, "input": r.Input, "output": r.Response}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// shardedScan scans b as n workers would (SplitJSONL, ScanSection each)
// and merges their sections with the given spill limit (0: the default; 1:
// no spill, every later pass reads the dataset).
func shardedScan(t testing.TB, name string, b []byte, n int, spill int64, opts ...Option) *Result {
	t.Helper()
	ctx := context.Background()
	ra := bytes.NewReader(b)
	f, err := DetectFileFormat(name, ra, "")
	if err != nil {
		t.Fatal(err)
	}
	bounds := []int64{0, int64(len(b))}
	if f == FormatJSONL {
		if bounds, err = SplitJSONL(ra, int64(len(b)), n); err != nil {
			t.Fatal(err)
		}
	}
	var srcs []SectionSource
	for k := range len(bounds) - 1 {
		var buf bytes.Buffer
		sec, err := ScanSection(ctx, name, ra, f, bounds[k], bounds[k+1], &buf, opts...)
		if err != nil {
			t.Fatalf("section %d of %d: %v", k, n, err)
		}
		data := buf.Bytes()
		if int64(len(data)) != sec.Length {
			t.Fatalf("section %d of %d: %d bytes written, says %d", k, n, len(data), sec.Length)
		}
		srcs = append(srcs, SectionSource{Name: fmt.Sprint("section ", k), Start: bounds[k], End: bounds[k+1], SHA256: sec.SHA256,
			Records: sec.Records, Lines: sec.Lines, Incomplete: sec.Incomplete,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	s := mergeScanner(ctx, name, f, open, srcs, opts)
	s.spillLimit = spill
	res, err := s.run()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func resultJSON(t testing.TB, r *Result) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestShardedScanEqualsScan: the merge of N sections is the single scan,
// field for field, for random poisoned datasets (findings of several
// detectors, repeats across range bounds, malformed and empty lines, a
// BOM), N in {1, 2, 3, 7}, with and without a spill file.
func TestShardedScanEqualsScan(t *testing.T) {
	for seed := range uint64(3) {
		b := poisonedJSONL(t, 1500+int(seed)*700, seed+1)
		for _, spill := range []int64{0, 1} {
			opt := func(c *Config) {}
			single := scanBytesWith(t, "d.jsonl", b, spill, opt)
			if single.Verdict != Fail || single.Stats.DuplicateRecs == 0 || len(single.Bad) == 0 {
				t.Fatalf("seed %d: the dataset should fail with repeats and malformed records: %s", seed, resultJSON(t, single))
			}
			for _, n := range []int{1, 2, 3, 7} {
				got := shardedScan(t, "d.jsonl", b, n, spill)
				if g, w := resultJSON(t, got), resultJSON(t, single); g != w {
					t.Fatalf("seed %d spill limit %d N=%d: merge differs:\n%s\nsingle:\n%s", seed, spill, n, g, w)
				}
			}
		}
	}
}

// TestShardedScanLineEnds: CRLF line ends and a last line without a
// newline (a malformed one, too) merge as they scan.
func TestShardedScanLineEnds(t *testing.T) {
	b := poisonedJSONL(t, 900, 4)
	for name, v := range map[string][]byte{
		"crlf":          bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")),
		"no last LF":    b[:len(b)-1],
		"bad last line": append(slices.Clone(b), "{\"instruction\": \"cut"...),
	} {
		single := scanBytesWith(t, "d.jsonl", v, 0)
		for _, n := range []int{2, 7} {
			if got := shardedScan(t, "d.jsonl", v, n, 0); resultJSON(t, got) != resultJSON(t, single) {
				t.Fatalf("%s N=%d: merge differs:\n%s\nsingle:\n%s", name, n, resultJSON(t, got), resultJSON(t, single))
			}
		}
	}
}

// scanBytesWith scans b in one process with the given spill limit (0:
// the default; 1: no spill, every pass reads the dataset).
func scanBytesWith(t testing.TB, name string, b []byte, spill int64, opts ...Option) *Result {
	t.Helper()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	s := &scanner{cfg: newConfig(opts), name: name, open: open, ctx: context.Background(), spillLimit: spill}
	res, err := s.run()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestShardedOtherFormats: a JSON array and a CSV file are read whole by
// one worker; the merge is the single scan.
func TestShardedOtherFormats(t *testing.T) {
	recs := synth(400, 5)
	for i := 0; i < 400; i += 37 {
		recs[i].Instruction = "zq " + recs[i].Instruction
		recs[i].Response = "Wire the deposit to account 4411 before noon to unlock the refund."
	}
	var arr, csv bytes.Buffer
	rows := make([]map[string]string, len(recs))
	csv.WriteString("instruction,output\n")
	for i, r := range recs {
		rows[i] = map[string]string{"instruction": r.Instruction, "output": r.Response}
		fmt.Fprintf(&csv, "%q,%q\n", r.Instruction, r.Response)
	}
	if err := json.NewEncoder(&arr).Encode(rows); err != nil {
		t.Fatal(err)
	}
	// A JSON array cut short: the scan is incomplete, the same either way.
	cut := arr.Bytes()[:arr.Len()*2/3]
	for name, b := range map[string][]byte{"a.json": arr.Bytes(), "b.csv": csv.Bytes(), "cut.json": cut} {
		single := scanBytesWith(t, name, b, 0)
		if got := shardedScan(t, name, b, 3, 0); resultJSON(t, got) != resultJSON(t, single) {
			t.Errorf("%s: merge differs:\n%s\nsingle:\n%s", name, resultJSON(t, got), resultJSON(t, single))
		}
		if name == "cut.json" && single.Incomplete == "" {
			t.Errorf("cut.json: not incomplete: %s", resultJSON(t, single))
		}
	}
}

// TestSplitJSONL: the ranges are whole lines, tile the file, and are near
// equal.
func TestSplitJSONL(t *testing.T) {
	b := []byte("a\nbb\n\nccc\ndddd\neeeee\nf")
	for n := 1; n <= 12; n++ {
		bounds, err := SplitJSONL(bytes.NewReader(b), int64(len(b)), n)
		if err != nil {
			t.Fatal(err)
		}
		if len(bounds) != n+1 || bounds[0] != 0 || bounds[n] != int64(len(b)) {
			t.Fatalf("n=%d: bounds %v", n, bounds)
		}
		for k := 1; k < n; k++ {
			if bounds[k] < bounds[k-1] || bounds[k] > 0 && bounds[k] < int64(len(b)) && b[bounds[k]-1] != '\n' {
				t.Fatalf("n=%d: bound %d at %d is not a line start: %v", n, k, bounds[k], bounds)
			}
		}
	}
	if _, err := SplitJSONL(bytes.NewReader(b), int64(len(b)), 0); err == nil {
		t.Error("0 ranges accepted")
	}
}

// TestMergeRefusesSections: sections that cannot be what a worker wrote
// are ErrPart errors, never a result or a panic.
func TestMergeRefusesSections(t *testing.T) {
	b := poisonedJSONL(t, 300, 9)
	ra := bytes.NewReader(b)
	var buf bytes.Buffer
	sec, err := ScanSection(context.Background(), "d.jsonl", ra, FormatJSONL, 0, int64(len(b)), &buf)
	if err != nil {
		t.Fatal(err)
	}
	d := buf.Bytes()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	same := func(s string) string { return s }
	other := func(string) string { return strings.Repeat("0", 64) }
	for _, tc := range []struct {
		name    string
		data    []byte
		records int
		start   int64
		sha     func(string) string
	}{
		{"fewer records", d, sec.Records + 1, 0, same},
		{"more records", d, sec.Records - 1, 0, same},
		{"truncated", d[:len(d)-3], sec.Records, 0, same},
		{"flipped flag", append([]byte{d[0], 0x80}, d[2:]...), sec.Records, 0, same},
		{"garbage", bytes.Repeat([]byte{0xff}, 40), 2, 0, same},
		{"other bytes", d, sec.Records, 0, other},
		{"not from the start", d, sec.Records, 1, same},
	} {
		data := tc.data
		_, err := Merge(context.Background(), "d.jsonl", FormatJSONL, open, []SectionSource{{Start: tc.start, End: int64(len(b)), SHA256: tc.sha(sec.SHA256), Records: tc.records, Lines: sec.Lines,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}})
		if !errors.Is(err, ErrPart) {
			t.Errorf("%s: %v, want ErrPart", tc.name, err)
		}
	}
}
