package intotoclassic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/mlattest/mlattest/internal/intototest"
	"github.com/mlattest/mlattest/verify"
)

func verifyChain(t *testing.T, c *intototest.Chain) (*Result, error) {
	t.Helper()
	owner, err := LoadKey(c.OwnerPub)
	if err != nil {
		t.Fatal(err)
	}
	return Verify(c.Layout, []intoto.Key{owner}, c.Links)
}

// TestClassicChainVerifies: the three-step chain verifies; the summary
// names the last step's products.
func TestClassicChainVerifies(t *testing.T) {
	c := intototest.NewChain(t)
	res, err := verifyChain(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Steps, ",") != "clean,train,package" || strings.Join(res.ProductNames(), ",") != "model.bin,release.tar" {
		t.Errorf("result %+v", res)
	}
}

// TestClassicChainFailures: each tampering fails with in-toto's reason.
func TestClassicChainFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(t *testing.T, c *intototest.Chain)
		reason  string
	}{
		{"tampered link", func(t *testing.T, c *intototest.Chain) {
			p := filepath.Join(c.Links, intototest.LinkName("train", c.Train))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var mb map[string]any
			if err := json.Unmarshal(data, &mb); err != nil {
				t.Fatal(err)
			}
			prods := mb["signed"].(map[string]any)["products"].(map[string]any)
			prods["model.bin"] = map[string]any{"sha256": strings.Repeat("0", 64)}
			out, _ := json.Marshal(mb)
			if err := os.WriteFile(p, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "step 'train' requires '1' link metadata file(s). '0' out of '1' available link(s) have a valid signature from an authorized signer"},
		{"wrong functionary key", func(t *testing.T, c *intototest.Chain) {
			mallory, _, _ := intototest.Key(t, c.Dir, "mallory")
			os.Remove(filepath.Join(c.Links, intototest.LinkName("train", c.Train)))
			c.Record(t, "train", mallory, []string{"data.txt"}, []string{"data.txt", "model.bin"}, func() {})
		}, "step 'train' requires '1' link metadata file(s). '0' out of '1' available link(s) have a valid signature from an authorized signer"},
		{"artifact rule", func(t *testing.T, c *intototest.Chain) {
			// train also leaves a file no rule allows.
			os.Remove(filepath.Join(c.Links, intototest.LinkName("train", c.Train)))
			c.Record(t, "train", c.Train, []string{"data.txt"}, []string{"data.txt", "model.bin", "backdoor.py"}, func() {
				if err := os.WriteFile("backdoor.py", []byte("import os"), 0o644); err != nil {
					t.Fatal(err)
				}
			})
		}, "artifact verification failed for Step 'train', products [backdoor.py] disallowed by rule [DISALLOW *]"},
		{"layout signed by another owner", func(t *testing.T, c *intototest.Chain) {
			c.Owner, _, _ = intototest.Key(t, c.Dir, "not-owner")
			c.SignLayout(t)
		}, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := intototest.NewChain(t)
			tc.breakIt(t, c)
			_, err := verifyChain(t, c)
			if !errors.Is(err, verify.ErrRejected) || verify.StageOf(err) != StageInToto {
				t.Fatalf("got %v, want an in-toto rejection", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("reason %q lacks %q", err, tc.reason)
			}
		})
	}
}

// TestClassicInspectionsRefused: a layout with an inspection is refused
// before any command could run.
func TestClassicInspectionsRefused(t *testing.T) {
	c := intototest.NewChain(t)
	c.LayoutDoc.Inspect = []intoto.Inspection{{Type: "inspection", Run: []string{"touch", "pwned"},
		SupplyChainItem: intoto.SupplyChainItem{Name: "check"}}}
	c.SignLayout(t)
	if _, err := verifyChain(t, c); !errors.Is(err, ErrInspections) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat("pwned"); err == nil {
		t.Fatal("the inspection ran")
	}
}

// TestImportNotes: what a classic layout says that mlattest cannot carry
// over is listed, one note each; rules carry over word for word.
func TestImportNotes(t *testing.T) {
	c := intototest.NewChain(t)
	l := c.LayoutDoc
	l.Readme = "read me"
	l.Inspect = []intoto.Inspection{{Type: "inspection", Run: []string{"true"}, SupplyChainItem: intoto.SupplyChainItem{Name: "check"}}}
	l.Steps[0].ExpectedProducts = append([][]string{{"MODIFY", "raw.txt"}}, l.Steps[0].ExpectedProducts...)
	out, notes, err := Import(l)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"inspection check", "readme: dropped", "subject:", "serial:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	for _, want := range []string{`"MATCH data.txt WITH PRODUCTS FROM clean"`, `"MODIFY raw.txt"`, "key-"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("layout lacks %s:\n%s", want, out)
		}
	}
	l.Steps[1].SupplyChainItem.ExpectedMaterials = [][]string{{"FROBNICATE", "x"}}
	_, notes, err = Import(l)
	if err != nil || !strings.Contains(strings.Join(notes, "\n"), `rule "FROBNICATE x" dropped`) {
		t.Errorf("unknown rule: %v %v", err, notes)
	}
}
