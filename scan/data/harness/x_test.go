package harness

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

func TestXDebug(t *testing.T) {
	p, _ := FindClean(".")
	clean, _ := LoadClean(p)
	var fam Family
	for _, f := range Families() {
		if f.Name == os.Getenv("FAM") {
			fam = f
		}
	}
	recs, pois := Plant(clean, fam, 18, 1001)
	f, _ := os.Create("/tmp/x.jsonl")
	WriteJSONL(f, recs)
	f.Close()
	res, _ := data.ScanFile(context.Background(), "/tmp/x.jsonl")
	fl := map[int]bool{}
	for _, i := range res.Flagged {
		fl[i] = true
	}
	for i := range pois {
		if !fl[i] {
			fmt.Printf("MISSED %d: %q -> %q\n", i, recs[i].Instruction[:min(80, len(recs[i].Instruction))], recs[i].Response)
		}
	}
	for _, f := range res.Findings {
		n := 0
		for _, i := range f.Records {
			if pois[i] {
				n++
			}
		}
		if n > 0 {
			fmt.Println(f.Detector, f.Count, n, f.Trigger, "|", f.Target, "|", f.Reason[:min(300, len(f.Reason))])
		}
	}
}
