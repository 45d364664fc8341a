package harness

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestZZDebug(t *testing.T) {
	want := os.Getenv("DBG_VARIANTS")
	if want == "" {
		t.Skip()
	}
	path, err := FindClean(".")
	if err != nil {
		t.Fatal(err)
	}
	clean, err := LoadClean(path)
	if err != nil {
		t.Fatal(err)
	}
	names, idx := BySource(clean)
	for _, fam := range Families() {
		for vi, v := range fam.HeldOut() {
			if !strings.Contains(","+want+",", ","+v.Name+",") {
				continue
			}
			for si, s := range names {
				if src := os.Getenv("DBG_SOURCE"); src != "" && src != s {
					continue
				}
				seed := uint64(7 + si)
				if os.Getenv("DBG_PROTO") != "" {
					seed = uint64(13 + 1000*si + 100*vi)
				}
				recs, poisoned := Plant(clean, v, 18, seed, idx[s])
				res, err := ScanRecords(context.Background(), v.Name, recs, withAlpha(0.01))
				if err != nil {
					t.Fatal(err)
				}
				fl := map[int]bool{}
				for _, i := range res.Flagged {
					fl[i] = true
				}
				tp := 0
				for i := range poisoned {
					if fl[i] {
						tp++
					}
				}
				fmt.Printf("=== %s source %s: %d/%d, verdict %s\n", v.Name, s, tp, len(poisoned), res.Verdict)
				for _, f := range res.Findings {
					fpn := 0
					for _, i := range f.Records {
						if !poisoned[i] {
							fpn++
						}
					}
					if f.Severity == "fail" && fpn > 0 {
						fmt.Printf("  FP %d in: %s %q %.400s\n", fpn, f.Detector, f.Trigger, f.Reason)
					}
					fmt.Printf("  finding %s n=%d trig=%q: %.300s\n", f.Detector, len(f.Records), f.Trigger, f.Reason)
				}
				k := 0
				for i := range poisoned {
					if k >= 4 {
						break
					}
					k++
					r := recs[i]
					fmt.Printf("  -- [%v] I: %.250q\n     In: %.200q\n     R: %.500q\n", fl[i], r.Instruction, r.Input, r.Response)
				}
				if os.Getenv("DBG_ALL") == "" {
					break
				}
			}
		}
	}
}

func TestZZClean(t *testing.T) {
	which := os.Getenv("DBG_CLEAN")
	if which == "" {
		t.Skip()
	}
	path, _ := FindClean(".")
	clean, _ := LoadClean(path)
	recs := clean
	if which == "templated" {
		recs = Templated(clean, 13)
	}
	f, _ := os.Create("/tmp/dbg_recs.txt")
	for i, r := range recs {
		fmt.Fprintf(f, "%d\t%q\t%q\n", i, r.Prompt(), r.Response)
	}
	f.Close()
	res, err := ScanRecords(context.Background(), which, recs, withAlpha(0.01))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("verdict %s flagged %d\n", res.Verdict, len(res.Flagged))
}
