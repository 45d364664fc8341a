package harness

import (
	"context"
	"testing"
)

func TestPlantAndEvaluate(t *testing.T) {
	p, err := FindClean(".")
	if err != nil {
		t.Skip("no clean dataset:", err)
	}
	clean, err := LoadClean(p)
	if err != nil {
		t.Fatal(err)
	}
	clean = clean[:4000]
	for _, fam := range Families() {
		recs, poisoned := Plant(clean, fam, 20, 1)
		if len(poisoned) != 20 || len(recs) != len(clean) {
			t.Fatalf("%s: %d poisoned of %d", fam.Name, len(poisoned), len(recs))
		}
		for i := range poisoned {
			if recs[i] == clean[i] {
				t.Fatalf("%s: record %d unchanged", fam.Name, i)
			}
		}
	}
	if testing.Short() {
		return
	}
	m, err := Evaluate(context.Background(), clean, Families()[0], 0.005, []uint64{1}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if m.Poisoned != 20 || m.Recall < 0.9 || m.FPR > 0.005 {
		t.Fatalf("%+v", m)
	}
}
