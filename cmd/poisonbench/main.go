// Command poisonbench is the evaluation harness of the dataset scanner. By
// default it runs the generalization protocol of scan/data/harness:
// leave-one-source-out thresholds over the clean public data, held-out
// attack variants planted at 0.1% and 1%, clean false-positive rates per
// source and on the templated, multilingual and 20-times-repeated corpora.
// With -dev it instead scores the development variants on the whole clean
// data (for working on the detectors; those numbers are not reported), and
// with -mix the held-out variants planted anywhere in the whole clean data.
// Held-out recall is reported per batch of variants: the first batch and
// the ones written after the detectors (scan/data/harness/heldout2.go
// onwards), named in order by harness.Batches and by -h.
//
//	go run ./cmd/poisonbench [-clean PATH] [-rates 0.001,0.01] [-family NAME,...] [-batch NAME,...] [-dev|-mix [-big] [-n N] [-seeds N]]
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/mlattest/mlattest/scan/data/harness"
)

func main() {
	os.Exit(run())
}

func floats(s string) ([]float64, error) {
	var out []float64
	for _, x := range strings.Split(s, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", x)
		}
		out = append(out, f)
	}
	return out, nil
}

func run() int {
	clean := flag.String("clean", "", "clean JSONL (default: ../shared/datasets/clean-instructions.jsonl above the repository root)")
	rates := flag.String("rates", "0.001,0.01", "poison rates")
	alphas := flag.String("alphas", "0.01,0.001,0.0001", "candidate thresholds (Alpha), most sensitive first")
	only := flag.String("family", "", "comma-separated families to score (default all)")
	batch := flag.String("batch", "", "comma-separated batches of held-out variants to score: "+strings.Join(harness.Batches(), ", ")+" (default all)")
	dev := flag.Bool("dev", false, "score the development variants on the whole clean data instead of the protocol")
	mix := flag.Bool("mix", false, "score the held-out variants planted anywhere in the whole clean data (default thresholds) instead of the protocol")
	big := flag.Bool("big", false, "with -mix: plant into the clean data followed by the templated corpus (~41k records)")
	count := flag.Int("n", 0, "with -mix: plant exactly this many records instead of -rates")
	nseeds := flag.Int("seeds", 1, "with -dev or -mix: plant with seeds 1..N, pooling the scores")
	flag.Parse()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "poisonbench:", err); return 2 }
	var fams, batches []string
	if *only != "" {
		fams = strings.Split(*only, ",")
	}
	if *batch != "" {
		batches = strings.Split(*batch, ",")
		if err := harness.CheckBatches(batches); err != nil {
			return fail(fmt.Errorf("-batch: %w", err))
		}
	}
	path := *clean
	if path == "" {
		p, err := harness.FindClean(".")
		if err != nil {
			return fail(err)
		}
		path = p
	}
	recs, err := harness.LoadClean(path)
	if err != nil {
		return fail(err)
	}
	rs, err := floats(*rates)
	if err != nil {
		return fail(fmt.Errorf("-rates: %w", err))
	}
	as, err := floats(*alphas)
	if err != nil {
		return fail(fmt.Errorf("-alphas: %w", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if (*big || *count > 0) && !*mix && !*dev {
		return fail(fmt.Errorf("-big and -n go with -mix or -dev"))
	}
	if *big {
		recs = harness.Big(recs, 13)
	}
	if *count > 0 {
		// A rate whose ceiling over the data is exactly count records.
		rs = []float64{(float64(*count) - 0.5) / float64(len(recs))}
	}
	if *dev || *mix {
		var seedList []uint64
		for k := range max(*nseeds, 1) {
			seedList = append(seedList, uint64(k+1))
		}
		fmt.Printf("%d records\n\n", len(recs))
		fmt.Println("| variant | batch | rate | poisoned | recall | FP | FAIL verdicts |")
		fmt.Println("|---|---|---|---|---|---|---|")
		for _, fam := range harness.Families() {
			if len(fams) > 0 && !slices.Contains(fams, fam.Name) {
				continue
			}
			vs := fam.Dev()
			if *mix {
				vs = fam.HeldOut()
			}
			for _, v := range vs {
				if *mix && len(batches) > 0 && !slices.Contains(batches, v.BatchName()) {
					continue
				}
				for _, r := range rs {
					m, err := harness.Evaluate(ctx, recs, v, r, seedList, nil)
					if err != nil {
						return fail(err)
					}
					fmt.Printf("| %s | %s | %.3f%% | %d | %.2f | %d | %d/%d |\n", v.Name, v.BatchName(), 100*r, m.Poisoned, m.Recall, m.FP, countOf(m.Verdicts, "FAIL"), len(m.Verdicts))
				}
			}
		}
		return 0
	}
	p := &harness.Protocol{Clean: recs, Alphas: as, Rates: rs, MaxFPR: 0.002, Seed: 13, Only: fams, Batches: batches, Log: os.Stderr}
	rep, err := p.Run(ctx)
	if err != nil {
		return fail(err)
	}
	fmt.Println("Clean data, leave one source out (threshold chosen without the source):")
	fmt.Println()
	fmt.Println("| source | records | alpha | flagged | FPR | verdict |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, f := range rep.Folds {
		fmt.Printf("| %s | %d | %g | %d | %.3f%% | %s |\n", f.Source, f.Clean.Records, f.Alpha, f.Clean.Flagged, 100*f.Clean.FPR, f.Clean.Verdict)
	}
	fmt.Println()
	fmt.Printf("Other clean corpora (alpha %g, calibrated on all sources):\n\n", rep.Alpha)
	fmt.Println("| corpus | records | flagged | FPR | verdict | fail findings |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, c := range rep.Corpora {
		fmt.Printf("| %s | %d | %d | %.3f%% | %s | %s |\n", c.Name, c.Records, c.Flagged, 100*c.FPR, c.Verdict, strings.Join(c.Findings, "; "))
	}
	fmt.Println()
	fmt.Println("Held-out variants, recall pooled over the folds (poison drawn from the left-out source);")
	fmt.Printf("%q is the first held-out batch, %s the batches written after the detectors:\n", harness.Batches()[0], quotedList(harness.Batches()[1:]))
	fmt.Println()
	printRecall(rep, rs)
	fmt.Println()
	fmt.Println("Per fold and variant:")
	fmt.Println()
	fmt.Println("| left-out source | variant | batch | rate | poisoned | recall | FP |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, f := range rep.Folds {
		for _, m := range f.Poison {
			fmt.Printf("| %s | %s | %s | %.1f%% | %d | %.2f | %d |\n", f.Source, m.Family, m.Batch, 100*m.Rate, m.Poisoned, m.Recall, m.FP)
		}
	}
	return 0
}

func countOf(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// printRecall prints recall per family and rate for each batch and for all
// held-out variants together, with the mean over families (families with
// nothing planted, NaN, are left out of the mean).
func printRecall(rep *harness.Report, rs []float64) {
	var batches []string
	for b := range rep.BatchRecall {
		batches = append(batches, b)
	}
	sort.Strings(batches)
	cols := []map[string]map[float64]float64{}
	head, sep := "| family |", "|---|"
	for _, b := range batches {
		cols = append(cols, rep.BatchRecall[b])
		for _, r := range rs {
			head += fmt.Sprintf(" %s %.1f%% |", b, 100*r)
			sep += "---|"
		}
	}
	cols = append(cols, rep.FamilyRecall)
	for _, r := range rs {
		head += fmt.Sprintf(" all %.1f%% |", 100*r)
		sep += "---|"
	}
	fmt.Println(head)
	fmt.Println(sep)
	var names []string
	for f := range rep.FamilyRecall {
		names = append(names, f)
	}
	sort.Strings(names)
	sum := make([]float64, len(cols)*len(rs))
	n := make([]int, len(sum))
	for _, f := range names {
		line := "| " + f + " |"
		for c, col := range cols {
			for k, r := range rs {
				x, ok := col[f][r]
				if !ok || math.IsNaN(x) {
					line += " – |"
					continue
				}
				line += fmt.Sprintf(" %.2f |", x)
				sum[c*len(rs)+k] += x
				n[c*len(rs)+k]++
			}
		}
		fmt.Println(line)
	}
	line := "| **mean** |"
	for k := range sum {
		if n[k] == 0 {
			line += " – |"
			continue
		}
		line += fmt.Sprintf(" **%.2f** |", sum[k]/float64(n[k]))
	}
	fmt.Println(line)
}

// quotedList joins names as `"a", "b" and "c"`.
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
