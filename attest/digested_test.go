package attest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
)

// TestDigestedEqualsAttest: products digested elsewhere make byte for byte
// the link statement Attest makes for the same files digested locally,
// also when a large directory is collapsed into a manifest.
func TestDigestedEqualsAttest(t *testing.T) {
	for _, n := range []int{3, 40} {
		t.Run(fmt.Sprint(n, " files"), func(t *testing.T) {
			dir := t.TempDir()
			for i := range n {
				writeFile(t, dir, fmt.Sprintf("data/f%03d", i), strings.Repeat("x", i))
			}
			writeFile(t, dir, "top.bin", "top")
			local, err := Attest(context.Background(), &Step{Name: "digest-mix", RunID: "run-9", Dir: dir, Products: []string{"."}, ManifestThreshold: 10}, 0, testOpts(t, nil)...)
			if err != nil {
				t.Fatal(err)
			}
			arts, err := digest.Paths(context.Background(), dir, []string{"."})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := Digested(&Step{Name: "digest-mix", RunID: "run-9", ManifestThreshold: 10}, arts, testOpts(t, nil)...)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Statements) != 1 || len(local.Statements) != 1 || !bytes.Equal(rec.Statements[0].JSON, local.Statements[0].JSON) {
				t.Fatalf("Digested:\n%s\nAttest:\n%s", rec.Statements[0].JSON, local.Statements[0].JSON)
			}
			if len(rec.Manifests) != len(local.Manifests) || (n > 10) != (len(rec.Manifests) == 1) {
				t.Fatalf("manifests: %d, Attest %d", len(rec.Manifests), len(local.Manifests))
			}
			if rec.Statements[0].Kind != KindLink || rec.RunID != "run-9" || len(rec.Products) != n+1 {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

// TestDigestedEqualsAttestLocation: the objects of a location, named by
// URI as Attest names them, make the statement Attest makes for the
// location itself.
func TestDigestedEqualsAttestLocation(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		writeFile(t, dir, fmt.Sprintf("d/f%d", i), strings.Repeat("y", i))
	}
	loc := "file://" + filepath.ToSlash(dir)
	local, err := Attest(context.Background(), &Step{Name: "digest-mix", RunID: "run-9", Dir: t.TempDir(), Products: []string{loc}}, 0, testOpts(t, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	arts, err := digest.Paths(context.Background(), dir, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	for i := range arts {
		arts[i].Name = loc + "/" + arts[i].Name
	}
	rec, err := Digested(&Step{Name: "digest-mix", RunID: "run-9"}, arts, testOpts(t, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Statements[0].JSON, local.Statements[0].JSON) || !strings.Contains(string(local.Statements[0].JSON), loc+"/d/f3") {
		t.Fatalf("Digested:\n%s\nAttest:\n%s", rec.Statements[0].JSON, local.Statements[0].JSON)
	}
}

func TestDigestedRefuses(t *testing.T) {
	arts := []digest.Artifact{{Name: "a", SHA256: strings.Repeat("0", 64)}}
	for _, tc := range []struct {
		name string
		step Step
		arts []digest.Artifact
		want string
	}{
		{"bad step", Step{Name: "a b"}, arts, `step name "a b"`},
		{"bad run id", Step{Name: "s", RunID: "a b"}, arts, `run id "a b"`},
		{"materials", Step{Name: "s", Materials: []string{"x"}}, arts, "names no materials"},
		{"product paths", Step{Name: "s", Products: []string{"x"}}, arts, "names no materials"},
		{"training", Step{Name: "s", Config: "c.yaml"}, arts, "training inputs"},
		{"no products", Step{Name: "s"}, nil, "no product"},
		{"bad name", Step{Name: "s"}, []digest.Artifact{{Name: "../x", SHA256: strings.Repeat("0", 64)}}, `"../x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Digested(&tc.step, tc.arts, testOpts(t, nil)...)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInput containing %q", err, tc.want)
			}
		})
	}
}
