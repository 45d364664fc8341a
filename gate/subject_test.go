package gate

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"math/rand/v2"
	"path"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/layouts"
)

// subjectLayout is a layout whose subject is step package's products under
// release/ (so the subject root is "release").
func subjectLayout(patterns ...string) *layouts.Layout {
	return &layouts.Layout{Subject: layouts.SubjectRule{Step: "package", Patterns: patterns}}
}

// runSubject runs checkSubject with every product and released file of the
// same digest, so only names can tell them apart.
func runSubject(products, released []string, dir bool, patterns ...string) *Report {
	sum := hexSum([]byte("weights"))
	arts := StepArtifacts{Products: Artifacts{}}
	for _, p := range products {
		arts.Products[p] = DigestSet{"sha256": sum}
	}
	m := &ModelFiles{Path: "release", Dir: dir}
	for _, n := range released {
		m.Files = append(m.Files, digest.Artifact{Name: n, SHA256: sum})
	}
	r := &Report{}
	checkSubject(r, subjectLayout(patterns...), map[string]StepArtifacts{"package": arts}, m)
	r.finish()
	return r
}

func TestCheckSubjectNames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns []string
		products []string
		released []string
		single   bool
		code     FailureCode // "" = pass
		substr   string
	}{
		{name: "exact names under the root", patterns: []string{"release/*"},
			products: []string{"release/model.bin", "release/docs/card.md"}, released: []string{"model.bin", "docs/card.md"}},
		{name: "root from several patterns", patterns: []string{"release/model/*", "release/docs/*.md"},
			products: []string{"release/model/w.bin", "release/docs/card.md"}, released: []string{"model/w.bin", "docs/card.md"}},
		{name: "no root: the working directory", patterns: []string{"*"},
			products: []string{"out/model.bin"}, released: []string{"out/model.bin"}},
		{name: "no root: a product is not released relative to its own directory", patterns: []string{"*"},
			products: []string{"out/model.bin"}, released: []string{"model.bin"},
			code: FailSubject, substr: "artifact model.bin: released file (sha256:"},
		{name: "product one directory deeper", patterns: []string{"release/*"},
			products: []string{"release/docs/model.bin"}, released: []string{"model.bin"},
			code: FailSubject, substr: "none is named release/model.bin"},
		{name: "product with a .. segment", patterns: []string{"release/*"},
			products: []string{"release/docs/../model.bin"}, released: []string{"model.bin"},
			code: FailSubject, substr: "product of step package (sha256:"},
		{name: "patterns in different directories: the root is the working directory", patterns: []string{"release/*", "*.bin"},
			products: []string{"release/a.bin", "other/b.bin"}, released: []string{"release/a.bin", "other/b.bin"}},
		{name: "the root is a directory, not a string prefix", patterns: []string{"release/model/*", "release/docs/*"},
			products: []string{"release/model/w.bin", "release/modelx"}, released: []string{"model/w.bin"}},
		{name: "released name in NFD", patterns: []string{"release/*"},
			products: []string{"release/caf\u00e9.md"}, released: []string{"cafe\u0301.md"},
			code: FailArtifactName, substr: "not NFC-normalised"},
		{name: "released name with a control character", patterns: []string{"release/*"},
			products: []string{"release/a\x07"}, released: []string{"a\x07"},
			code: FailArtifactName, substr: "control or format character U+0007"},
		{name: "released twice", patterns: []string{"release/*"},
			products: []string{"release/a"}, released: []string{"a", "a"},
			code: FailSubject, substr: "released twice as product release/a"},
		{name: "case variant", patterns: []string{"release/*"},
			products: []string{"release/Model.bin"}, released: []string{"model.bin"},
			code: FailSubject, substr: "none is named release/model.bin"},
		{name: "single file by base name", patterns: []string{"release/*"}, single: true,
			products: []string{"release/model/w.bin"}, released: []string{"w.bin"}},
		{name: "single file under another base name", patterns: []string{"release/*"}, single: true,
			products: []string{"release/model/w.bin"}, released: []string{"x.bin"},
			code: FailSubject, substr: "none is named release/x.bin"},
		{name: "single file, two products of its base name", patterns: []string{"release/*"}, single: true,
			products: []string{"release/a/w.bin", "release/b/w.bin"}, released: []string{"w.bin"},
			code: FailSubject, substr: "products release/a/w.bin and release/b/w.bin would both be released as w.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runSubject(tc.products, tc.released, !tc.single, tc.patterns...)
			if tc.code == "" {
				if !r.Passed {
					t.Fatalf("want pass, got:\n%s", failureList(r))
				}
				return
			}
			if r.Passed || !r.HasFailure(tc.code, tc.substr) {
				t.Fatalf("want a %s failure containing %q, got passed=%v:\n%s", tc.code, tc.substr, r.Passed, failureList(r))
			}
		})
	}
}

func TestSubjectRoot(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		want     string
	}{
		{[]string{"*"}, ""},
		{[]string{"release/*"}, "release"},
		{[]string{"release/model.bin"}, "release"},
		{[]string{"release/model/*", "release/docs/*"}, "release"},
		{[]string{"release/model/*", "releases/*"}, ""},
		{[]string{"a/b/c*/d"}, "a/b"},
		{[]string{`a/b\*/c`}, "a"},
		{[]string{"a/[bc]/d"}, "a"},
		{[]string{"rel*/x"}, ""},
	} {
		if got := subjectRoot(tc.patterns); got != tc.want {
			t.Errorf("subjectRoot(%q) = %q, want %q", tc.patterns, got, tc.want)
		}
	}
}

// nameVariants are names a hostile statement or release tree could use for
// name: dot segments, doubled and trailing slashes, backslashes, case
// variants, look-alikes, NFC/NFD forms, invisible characters, and the same
// file a directory deeper or shallower.
func nameVariants(name string) []string {
	dir, base := path.Split(name)
	v := []string{
		name, "./" + name, name + "/", "/" + name, "x/../" + name, dir + "./" + base, dir + "../" + base,
		strings.ReplaceAll(name, "/", "//"), "/" + name + "/", strings.ReplaceAll(name, "/", `\`), dir + `x\..\` + base,
		strings.ToUpper(name), strings.ToLower(name), strings.ToUpper(name[:1]) + name[1:],
		strings.ReplaceAll(name, "o", "\u043e"), strings.ReplaceAll(name, "a", "\u0430"), // Cyrillic look-alikes
		norm.NFD.String(name), norm.NFC.String(name), norm.NFKC.String(name),
		dir + "\u200d" + base, "\ufeff" + name, name + " ", name + "\x00", dir + "\u202e" + base,
		"docs/" + name, base, dir + base + "/x",
	}
	return v
}

var propertyNames = []string{"model.safetensors", "Model.bin", "docs/card.md", "caf\u00e9/w\u00e9ights.bin", "cafe\u0301/x.bin", "a/b/c.json", "\u212bngstr\u00f6m.txt"}

// assertOnlyExactNames is the property: when checkSubject passes, every
// released file is byte for byte a selected product's name under the root
// "release" (for a single file: the one product's base name), one to one.
// It reports whether checkSubject passed.
func assertOnlyExactNames(t *testing.T, products, released []string, dir bool) bool {
	t.Helper()
	r := runSubject(products, released, dir, "release/*")
	if !r.Passed {
		return false
	}
	selected := map[string]bool{}
	for _, p := range products {
		if strings.HasPrefix(p, "release/") {
			selected[p] = true
		}
	}
	if len(released) != len(selected) {
		t.Fatalf("passed with %d released files for %d products: %q vs %q", len(released), len(selected), released, products)
	}
	for _, f := range released {
		want := "release/" + f
		if !dir {
			for p := range selected {
				want = p
			}
			if path.Base(want) != f {
				t.Fatalf("single file %q passed as product %q", f, want)
			}
			continue
		}
		if !selected[want] {
			t.Fatalf("released file %q passed, but no product is named %q exactly (products %q)", f, want, products)
		}
		delete(selected, want) // one to one
	}
	return true
}

func TestSubjectNamesProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 1))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	passed := 0
	const runs = 20000
	for range runs {
		var products, released []string
		seen := map[string]bool{}
		for range 1 + rng.IntN(3) {
			base := pick(propertyNames)
			p := "release/" + base
			if rng.IntN(2) == 0 {
				p = "release/" + pick(nameVariants(base))
			}
			if !seen[p] {
				seen[p] = true
				products = append(products, p)
			}
			rel := strings.TrimPrefix(p, "release/")
			if rng.IntN(2) == 0 {
				rel = pick(nameVariants(base))
			}
			released = append(released, rel)
		}
		dir := rng.IntN(5) != 0
		if !dir {
			released = released[:1]
		}
		if assertOnlyExactNames(t, products, released, dir) {
			passed++
		}
	}
	// Both outcomes must be common, or the property says little.
	if passed < runs/20 || passed > runs/2 {
		t.Fatalf("%d of %d generated releases passed", passed, runs)
	}
}

// FuzzSubjectNames: whatever the product and released names (one per
// line), checkSubject passes only for byte-identical names under the root.
// Seeds: testdata/fuzz/FuzzSubjectNames.
func FuzzSubjectNames(f *testing.F) {
	for _, n := range propertyNames {
		for _, v := range nameVariants(n) {
			f.Add("release/"+n, v, true)
			f.Add("release/"+v, n, v == n)
		}
	}
	f.Fuzz(func(t *testing.T, products, released string, dir bool) {
		ps := strings.Split(products, "\n")
		seen := map[string]bool{}
		uniq := ps[:0]
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				uniq = append(uniq, p)
			}
		}
		rs := strings.Split(released, "\n")
		if !dir {
			rs = rs[:1]
		}
		assertOnlyExactNames(t, uniq, rs, dir)
	})
}

// TestHashAlgorithms: the released files are hashed again only for the
// algorithms asked for (sha256 is HashModel's), once per file for all.
func TestHashAlgorithms(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "w.bin", []byte("weights"))
	m, err := HashModel(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.hashAlgorithms(context.Background(), []string{"sha256"}); err != nil || m.Digests != nil {
		t.Fatalf("sha256 only: %v, %v (want nothing hashed again)", m.Digests, err)
	}
	if err := m.hashAlgorithms(context.Background(), []string{"sha512", "sha384", "sha512", "blake3"}); err != nil {
		t.Fatal(err)
	}
	s384, s512 := sha512.Sum384([]byte("weights")), sha512.Sum512([]byte("weights"))
	want := DigestSet{"sha256": hexSum([]byte("weights")), "sha384": hex.EncodeToString(s384[:]), "sha512": hex.EncodeToString(s512[:])}
	if got := m.digestsOf(m.Files[0]); got.mismatch(want) != "" {
		t.Fatalf("digests %v, want %v", got, want)
	}
}
