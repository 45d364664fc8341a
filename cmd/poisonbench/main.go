// Command poisonbench is the evaluation harness of the dataset scanner: it
// plants each attack family into the clean public data at 0.1%, 0.5% and 1%
// with fixed seeds and prints precision, recall and false-positive rate.
//
//	go run ./cmd/poisonbench [-clean PATH] [-rates 0.001,0.005,0.01]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/mlattest/mlattest/scan/data"
	"github.com/mlattest/mlattest/scan/data/harness"
	"math/rand/v2"
)

func main() {
	os.Exit(run())
}

func run() int {
	clean := flag.String("clean", "", "clean JSONL (default: ../shared/datasets/clean-instructions.jsonl above the repository root)")
	rates := flag.String("rates", "0.001,0.005,0.01", "poison rates")
	only := flag.String("family", "", "run only this family")
	flag.Parse()
	path := *clean
	if path == "" {
		p, err := harness.FindClean(".")
		if err != nil {
			fmt.Fprintln(os.Stderr, "poisonbench:", err)
			return 2
		}
		path = p
	}
	recs, err := harness.LoadClean(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "poisonbench:", err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "poisonbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "poisonbench:", err)
		return 2
	}
	defer os.RemoveAll(tmp)
	// Interrupted, the evaluation stops and the deferred removal runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The clean data alone: what the scanner flags with no poison at all.
	base, err := harness.Evaluate(ctx, recs, harness.Family{Name: "none", Poison: func(_ *rand.Rand, r data.Record) data.Record { return r }}, 0, []uint64{1}, tmp)
	_ = base
	if err != nil {
		fmt.Fprintln(os.Stderr, "poisonbench:", err)
		return 2
	}
	fmt.Printf("clean data: %d records, %d flagged (FPR %.3f%%), verdict %s\n\n", base.Clean, base.FP, 100*base.FPR, strings.Join(base.Verdicts, ","))
	fmt.Println("| family | rate | seeds | poisoned | precision | recall | FPR |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, rs := range strings.Split(*rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "poisonbench: bad rate:", rs)
			return 2
		}
		// Pool seeds until each family has at least 30 poisoned records.
		per := int(float64(len(recs))*rate + 0.999)
		nseeds := 1
		for nseeds*per < 30 {
			nseeds++
		}
		seeds := make([]uint64, nseeds)
		for i := range seeds {
			seeds[i] = uint64(1000*rate*1000) + uint64(i) + 1
		}
		var sumR, sumF float64
		n := 0
		for _, fam := range harness.Families() {
			if *only != "" && fam.Name != *only {
				continue
			}
			m, err := harness.Evaluate(ctx, recs, fam, rate, seeds, tmp)
			if err != nil {
				fmt.Fprintln(os.Stderr, "poisonbench:", err)
				return 2
			}
			fmt.Printf("| %s | %.1f%% | %d | %d | %.3f | %.3f | %.3f%% |\n", m.Family, 100*rate, m.Seeds, m.Poisoned, m.Precision, m.Recall, 100*m.FPR)
			sumR += m.Recall
			sumF += m.FPR
			n++
		}
		if n > 0 {
			fmt.Printf("| **mean** | %.1f%% | | | | **%.3f** | **%.3f%%** |\n", 100*rate, sumR/float64(n), 100*sumF/float64(n))
		}
	}
	return 0
}
