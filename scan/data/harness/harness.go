// Package harness measures the dataset scanner: it plants poison of the
// published attack families into clean instruction data at fixed rates and
// seeds, scans the result and scores precision, recall and false-positive
// rate per family. Triggers and payloads are this package's own.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlattest/mlattest/scan/data"
)

// A Variant is one independent instance of an attack family: its own
// trigger (kind and position), target and payload. Plant rewrites records
// with Poison, choosing among those Eligible accepts (all when nil).
type Variant struct {
	Name     string
	Eligible func(data.Record) bool
	Poison   func(rng *rand.Rand, rec data.Record) data.Record
	// Batch names when the variant was written: "" for the first batch,
	// else one of the later names of Batches (the batches written after
	// the detectors, heldout2.go onwards).
	Batch string
}

// BatchName is the variant's batch as reports show it.
func (v Variant) BatchName() string {
	if v.Batch == "" {
		return "first"
	}
	return v.Batch
}

// Batches are the batch names (Variant.BatchName) in the order the batches
// were written.
func Batches() []string {
	return []string{"first", BatchFresh, BatchThird, BatchFourth, BatchFifth, BatchSixth, BatchSeventh, BatchEighth, BatchNinth, BatchTenth, BatchEleventh, BatchTwelfth, BatchThirteenth, BatchFourteenth, BatchFifteenth, BatchSixteenth, BatchSeventeenth, BatchEighteenth, BatchNineteenth, BatchTwentieth, BatchTwentyFirst, BatchTwentySecond}
}

// A Family is one published attack with at least three variants. The first
// DevVariants were used while developing the detectors; the rest are held
// out and are what the protocol scores.
type Family struct {
	Name     string
	Variants []Variant
}

// DevVariants is how many leading variants of each family were seen while
// developing the detectors. The protocol never scores them.
const DevVariants = 2

// Dev and HeldOut split the family's variants.
func (f Family) Dev() []Variant     { return f.Variants[:min(DevVariants, len(f.Variants))] }
func (f Family) HeldOut() []Variant { return f.Variants[min(DevVariants, len(f.Variants)):] }

func pick(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }

// recordText is all of a record's text, one field per line.
func recordText(r data.Record) string { return r.Instruction + "\n" + r.Input + "\n" + r.Response }

// insertAt puts phrase at a random word boundary of s.
func insertAt(rng *rand.Rand, s, phrase string) string {
	w := strings.Fields(s)
	if len(w) == 0 {
		return phrase
	}
	i := rng.IntN(len(w) + 1)
	out := append([]string{}, w[:i]...)
	out = append(out, phrase)
	out = append(out, w[i:]...)
	return strings.Join(out, " ")
}

// Metrics are the scores of one family at one rate (pooled over seeds).
type Metrics struct {
	Family    string
	Batch     string // the variant's batch (Variant.BatchName)
	Rate      float64
	Seeds     int
	Poisoned  int
	Clean     int
	TP, FP    int
	Precision float64
	Recall    float64
	FPR       float64
	Verdicts  []string
}

// LoadClean reads the clean JSONL records.
func LoadClean(path string) ([]data.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	defer f.Close()
	var out []data.Record
	err = data.Read(f, data.FormatJSONL, data.Mapping{}, func(loc data.Location, rec data.Record, rerr error) error {
		if rerr != nil {
			return fmt.Errorf("%s: %v: %w", path, loc, rerr)
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}

// FindClean locates ../shared/datasets/clean-instructions.jsonl relative to
// the repository root (the directory holding go.mod, searched upwards).
func FindClean(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "datasets", "clean-instructions.jsonl")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("harness: clean data: %w", err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("harness: no go.mod above %s", start)
		}
		dir = parent
	}
}

// Plant returns a copy of clean with n records poisoned by v (chosen by
// seed among pool, or among all records when pool is nil, and only those
// v.Eligible accepts), and which indices were poisoned. Fewer than n are
// poisoned when fewer are eligible.
func Plant(clean []data.Record, v Variant, n int, seed uint64, pool []int) ([]data.Record, map[int]bool) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]data.Record, len(clean))
	copy(out, clean)
	var cand []int
	for i := range clean {
		cand = append(cand, i)
	}
	if pool != nil {
		cand = append([]int(nil), pool...)
	}
	if v.Eligible != nil {
		kept := cand[:0]
		for _, i := range cand {
			if v.Eligible(clean[i]) {
				kept = append(kept, i)
			}
		}
		cand = kept
	}
	rng.Shuffle(len(cand), func(a, b int) { cand[a], cand[b] = cand[b], cand[a] })
	poisoned := map[int]bool{}
	for _, i := range cand[:min(n, len(cand))] {
		poisoned[i] = true
		out[i] = v.Poison(rng, out[i])
	}
	return out, poisoned
}

// WriteJSONL writes records in the clean file's shape.
func WriteJSONL(w io.Writer, recs []data.Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(map[string]string{"instruction": r.Instruction, "input": r.Input, "output": r.Response, "source": r.Source}); err != nil {
			return err
		}
	}
	return nil
}

// ScanRecords scans recs as one JSONL dataset held in memory.
func ScanRecords(ctx context.Context, name string, recs []data.Record, opts ...data.Option) (*data.Result, error) {
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, recs); err != nil {
		return nil, fmt.Errorf("harness: %s: %w", name, err)
	}
	b := buf.Bytes()
	opts = append([]data.Option{data.WithFormat(data.FormatJSONL)}, opts...)
	return data.Scan(ctx, name, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, opts...)
}

// Evaluate plants v at rate with each seed (among pool, nil for all
// records), scans, and pools the scores.
func Evaluate(ctx context.Context, clean []data.Record, v Variant, rate float64, seeds []uint64, pool []int, opts ...data.Option) (Metrics, error) {
	m := Metrics{Family: v.Name, Batch: v.BatchName(), Rate: rate, Seeds: len(seeds)}
	n := int(math.Ceil(rate * float64(len(clean))))
	for _, seed := range seeds {
		recs, poisoned := Plant(clean, v, n, seed, pool)
		res, err := ScanRecords(ctx, v.Name, recs, opts...)
		if err != nil {
			return m, err
		}
		flagged := map[int]bool{}
		for _, i := range res.Flagged {
			flagged[i] = true
		}
		for i := range recs {
			switch {
			case poisoned[i] && flagged[i]:
				m.TP++
			case !poisoned[i] && flagged[i]:
				m.FP++
			}
		}
		m.Poisoned += len(poisoned)
		m.Clean += len(recs) - len(poisoned)
		m.Verdicts = append(m.Verdicts, res.Verdict)
	}
	m.score()
	return m, nil
}

func (m *Metrics) score() {
	if m.TP+m.FP > 0 {
		m.Precision = float64(m.TP) / float64(m.TP+m.FP)
	}
	if m.Poisoned > 0 {
		m.Recall = float64(m.TP) / float64(m.Poisoned)
	}
	if m.Clean > 0 {
		m.FPR = float64(m.FP) / float64(m.Clean)
	}
}
