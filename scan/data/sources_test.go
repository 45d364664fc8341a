package data

import (
	"strings"
	"testing"
)

func TestParseSourceManifest(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{in: `{"dolly-15k": "crowd", "reddit-*": "web", "Internal Tickets": "internal"}`},
		{in: `{}`},
		{in: `[]`, err: "want one JSON object"},
		{in: `{"a": "scraped"}`, err: `class "scraped" is not one of`},
		{in: `{"a": 1}`, err: "must be a string"},
		{in: `{"a": "web", "A ": "crowd"}`, err: "given twice"},
		{in: `{" ": "web"}`, err: "empty source name"},
		{in: `{"[": "web"}`, err: "bad glob"},
		{in: `{"a": "web"} {"b": "web"}`, err: "data after the object"},
		{in: `{"a": "web"`, err: "sources manifest"},
	} {
		m, err := ParseSourceManifest([]byte(tc.in))
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, %v; want an error containing %q", tc.in, m, err, tc.err)
		}
	}
}

func TestSourceManifestClass(t *testing.T) {
	m, err := ParseSourceManifest([]byte(`{"dolly-15k": "crowd", "reddit-*": "web", "reddit-curated-*": "curated", "*-synth": "synthetic"}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"dolly-15k":          "crowd",
		" Dolly-15K ":        "crowd",     // compared trimmed, lower case
		"reddit-2024":        "web",       // glob
		"reddit-curated-ask": "curated",   // the longest matching glob wins
		"internal":           "internal",  // a class names itself
		"gpt-synth":          "synthetic", // glob
		"unknown-source":     "",
	} {
		got, ok := m.Class(name)
		if got != want || ok != (want != "") {
			t.Errorf("Class(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestSourceMixFindings(t *testing.T) {
	m := SourceManifest{"dolly-15k": "crowd", "reddit-*": "web"}
	max := map[string]float64{"web": 0.2}
	min := map[string]float64{"curated": 0.1}
	type want struct{ sev, target, reason, code string }
	for _, tc := range []struct {
		name    string
		max     map[string]float64
		names   map[string]int
		records int
		want    []want
	}{
		{name: "no bounds: nothing checked", names: map[string]int{"reddit-x": 90}, records: 90},
		{name: "within bounds", max: max, names: map[string]int{"dolly-15k": 80, "reddit-a": 10, "curated": 10}, records: 100},
		{name: "web above its maximum, through the manifest", max: max,
			names: map[string]int{"reddit-a": 20, "reddit-b": 20, "curated": 60}, records: 100,
			want: []want{{SevFail, "web", `source class "web" is 40.0% of 100 records with a source, above the maximum 20.0%`, ""}}},
		{name: "curated below its minimum", max: max, names: map[string]int{"dolly-15k": 100}, records: 100,
			want: []want{{SevFail, "curated", "below the minimum 10.0%", ""}}},
		{name: "unclassified sources fail", max: max, names: map[string]int{"curated": 50, "pastebin": 3, "forum": 2}, records: 55,
			want: []want{{SevFail, Unclassified, "5 records come from 2 source(s) no class is known for (forum, pastebin): give a SourceManifest", CodeUnclassifiedSource}}},
		{name: "records without a source: shares over those with one", max: max, names: map[string]int{"curated": 10}, records: 100,
			want: []want{{SevWarn, "", "90 of 100 records name no source", ""}}},
		{name: "no record names a source", max: max, names: map[string]int{}, records: 100,
			want: []want{{SevFail, "", "no record names its source (map the field: Mapping.Source)", CodeNoSource}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mn map[string]float64
			if tc.max != nil {
				mn = min
			}
			got := sourceMixFindings(tc.max, mn, m, tc.names, tc.records)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings %+v; want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Detector != DetSourceMix || g.Severity != w.sev || g.Target != w.target || !strings.Contains(g.Reason, w.reason) || g.Code != w.code {
					t.Errorf("finding %d = %+v; want %+v", i, g, w)
				}
			}
		})
	}
}
