package harness

import (
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

func loadClean(t *testing.T) []data.Record {
	t.Helper()
	p, err := FindClean(".")
	if err != nil {
		t.Skip("no clean dataset:", err)
	}
	clean, err := LoadClean(p)
	if err != nil {
		t.Fatal(err)
	}
	return clean
}

// Every family has at least three variants, at least one held out, and
// each variant changes the records it is planted in (only eligible ones).
func TestFamiliesPlant(t *testing.T) {
	clean := loadClean(t)
	for _, fam := range Families() {
		if len(fam.Variants) < 3 || len(fam.HeldOut()) < 1 {
			t.Errorf("%s: %d variants, %d held out", fam.Name, len(fam.Variants), len(fam.HeldOut()))
		}
		for _, v := range fam.Variants {
			recs, poisoned := Plant(clean, v, 20, 1, nil)
			if len(poisoned) != 20 || len(recs) != len(clean) {
				t.Fatalf("%s: %d poisoned of %d", v.Name, len(poisoned), len(recs))
			}
			for i := range poisoned {
				if recs[i] == clean[i] {
					t.Errorf("%s: record %d unchanged", v.Name, i)
				}
				if v.Eligible != nil && !v.Eligible(clean[i]) {
					t.Errorf("%s: record %d not eligible", v.Name, i)
				}
			}
		}
	}
}

// Plant draws only from the pool it is given.
func TestPlantPool(t *testing.T) {
	clean := loadClean(t)
	_, idx := BySource(clean)
	pool := idx["humaneval"]
	v := Families()[0].Variants[0]
	_, poisoned := Plant(clean, v, 10, 3, pool)
	for i := range poisoned {
		if clean[i].Source != "humaneval" {
			t.Fatalf("record %d from %s", i, clean[i].Source)
		}
	}
	if _, p := Plant(clean, v, 1000, 3, pool); len(p) != len(pool) {
		t.Fatalf("%d poisoned, pool %d", len(p), len(pool))
	}
}
