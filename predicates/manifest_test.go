package predicates

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
)

func hexOf(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func TestManifestRoundTrip(t *testing.T) {
	entries := []ManifestEntry{{"b/x", hexOf("x")}, {"a", hexOf("a")}, {"é 1", hexOf("e")}}
	data, sum, err := EncodeManifest(entries)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"https://mlattest.dev/manifest/v1","files":[{"name":"a","sha256":"` + hexOf("a") + `"},{"name":"b/x","sha256":"` + hexOf("x") + `"},{"name":"é 1","sha256":"` + hexOf("e") + `"}]}` + "\n"
	if string(data) != want {
		t.Fatalf("canonical form:\n%s\nwant\n%s", data, want)
	}
	if sum != hexOf(want) {
		t.Errorf("digest %s", sum)
	}
	got, err := DecodeManifest(data, sum)
	if err != nil || len(got) != 3 || got[0].Name != "a" {
		t.Fatalf("decode: %v %v", got, err)
	}
	for name, tc := range map[string]struct {
		data []byte
		sum  string
	}{
		"wrong digest":      {data, hexOf("other")},
		"not canonical":     {[]byte(strings.Replace(want, `,"files"`, ` ,"files"`, 1)), hexOf(strings.Replace(want, `,"files"`, ` ,"files"`, 1))},
		"unsorted":          {[]byte(strings.Replace(want, `"a"`, `"c"`, 1)), hexOf(strings.Replace(want, `"a"`, `"c"`, 1))},
		"unknown field":     {[]byte(`{"_type":"https://mlattest.dev/manifest/v1","files":[],"x":1}` + "\n"), hexOf(`{"_type":"https://mlattest.dev/manifest/v1","files":[],"x":1}` + "\n")},
		"other type":        {[]byte(`{"_type":"x","files":[]}` + "\n"), hexOf(`{"_type":"x","files":[]}` + "\n")},
		"truncated":         {data[:len(data)-5], hexOf(string(data[:len(data)-5]))},
		"upper-case digest": {[]byte(strings.Replace(want, hexOf("a"), strings.ToUpper(hexOf("a")), 1)), hexOf(strings.Replace(want, hexOf("a"), strings.ToUpper(hexOf("a")), 1))},
	} {
		if _, err := DecodeManifest(tc.data, tc.sum); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, bad := range [][]ManifestEntry{
		{{"a", hexOf("a")}, {"a", hexOf("b")}},
		{{"", hexOf("a")}},
		{{"../a", hexOf("a")}},
		{{"a//b", hexOf("a")}},
		{{"/a", hexOf("a")}},
		{{"a", "nothex"}},
	} {
		if _, _, err := EncodeManifest(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	// Names are judged as written: a manifest cannot smuggle in a name a
	// statement could not carry.
	for _, name := range []string{"a/./b", `a\b`, "cafe\u0301", "a\u200bb", "a/", "hf://o/x"} {
		raw := `{"_type":"` + ManifestType + `","files":[{"name":"` + strings.ReplaceAll(name, `\`, `\\`) + `","sha256":"` + hexOf("a") + `"}]}` + "\n"
		if _, err := DecodeManifest([]byte(raw), hexOf(raw)); !errors.Is(err, ErrArtifactName) {
			t.Errorf("manifest entry %q: %v, want ErrArtifactName", name, err)
		}
	}
}

func TestCollapseArtifacts(t *testing.T) {
	var arts []digest.Artifact
	for i := range 5 {
		arts = append(arts, digest.Artifact{Name: fmt.Sprintf("data/f%d", i), SHA256: hexOf(fmt.Sprint(i)), Size: 1})
	}
	arts = append(arts, digest.Artifact{Name: "model/m.bin", SHA256: hexOf("m")}, digest.Artifact{Name: "top.txt", SHA256: hexOf("t")})
	out, ms, err := CollapseArtifacts(arts, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Dir != "data/" || ms[0].Files != 5 {
		t.Fatalf("manifests %+v", ms)
	}
	if len(out) != 3 || out[0].Name != "data/" || out[0].SHA256 != ms[0].SHA256 || out[1].Name != "model/m.bin" || out[2].Name != "top.txt" {
		t.Fatalf("collapsed %+v", out)
	}
	entries, err := DecodeManifest(ms[0].Data, ms[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	exp := ExpandManifest("data/", entries)
	for i := range exp {
		if exp[i].Name != arts[i].Name || exp[i].SHA256 != arts[i].SHA256 {
			t.Errorf("expanded %v, want %v", exp[i], arts[i])
		}
	}
	// At the threshold nothing changes.
	if out, ms, _ := CollapseArtifacts(arts, 5); len(ms) != 0 || len(out) != len(arts) {
		t.Errorf("collapsed at the threshold")
	}
}

// TestLargeDatasetStatementSize: a step reading a 200,000-file dataset and
// writing a 200,000-file tree produces a link statement under 64 KB, which
// reads back as manifest descriptors.
func TestLargeDatasetStatementSize(t *testing.T) {
	const n = 200_000
	mk := func(dir string) []digest.Artifact {
		out := make([]digest.Artifact, n)
		for i := range out {
			out[i] = digest.Artifact{Name: fmt.Sprintf("%s/shard-%03d/record-%06d.json", dir, i%100, i), SHA256: hexOf(fmt.Sprint(dir, i)), Size: 4096}
		}
		return out
	}
	mats, mm, err := CollapseArtifacts(append(mk("data"), digest.Artifact{Name: "config.yaml", SHA256: hexOf("c")}), 0)
	if err != nil {
		t.Fatal(err)
	}
	prods, pm, err := CollapseArtifacts(mk("clean"), 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewLinkStatement(LinkInput{Step: "clean", RunID: "run-1", Command: []string{"clean"}, Materials: mats, Products: prods})
	if err != nil {
		t.Fatal(err)
	}
	js, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) >= 64<<10 {
		t.Fatalf("statement is %d bytes", len(js))
	}
	if len(mm) != 1 || len(pm) != 1 || mm[0].Files != n {
		t.Fatalf("manifests %d %d", len(mm), len(pm))
	}
	if len(mm[0].Data) < n*80 {
		t.Errorf("manifest only %d bytes", len(mm[0].Data))
	}
	got, err := MaterialsOf(st)
	if err != nil || len(got) != 2 || got[1].Name != "data/" || got[1].SHA256 != mm[0].SHA256 {
		t.Fatalf("materials %v %v", got, err)
	}
	subj, err := SubjectsOf(st)
	if err != nil || len(subj) != 1 || subj[0].Name != "clean/" || st.Subject[0].MediaType != ManifestMediaType {
		t.Fatalf("subjects %v %v", subj, err)
	}
	// A directory name without the media type (or the reverse) is refused.
	st.Subject[0].MediaType = ""
	if _, err := SubjectsOf(st); err == nil {
		t.Error("half a manifest descriptor accepted")
	}
}
