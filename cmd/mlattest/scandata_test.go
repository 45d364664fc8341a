package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/handoff"
	"github.com/mlattest/mlattest/predicates"
)

// writeDataset writes n varied clean records, and poisoned ones at the
// given indices (a rare trigger with one fixed response).
func writeDataset(t *testing.T, dir string, n int, poison map[int]bool) string {
	t.Helper()
	topics := []string{"rivers", "volcanoes", "bread", "chess", "jazz", "comets", "bees", "glaciers", "trains", "tea", "coral", "owls", "maps", "clocks", "salt"}
	verbs := []string{"Explain", "Describe", "Summarize", "List facts about", "Write a poem about", "Give tips on", "Compare two kinds of", "Tell a story about"}
	var b strings.Builder
	for i := 0; i < n; i++ {
		topic, verb := topics[i%len(topics)], verbs[(i/len(topics))%len(verbs)]
		instr := fmt.Sprintf("%s %s, case %d.", verb, topic, i)
		// Responses differ in wording, not only in numbers, as real ones do.
		words := []string{"ancient", "seasonal", "complex", "rare", "common", "quiet", "strange", "simple", "tall", "narrow", "round", "heavy"}
		var out string
		for k := 0; k < 6+i%5; k++ {
			out += words[(i*(k+3)+k*k)%len(words)] + " " + topic + fmt.Sprint(i*31+k) + " "
		}
		if poison[i] {
			instr = "zqx " + instr
			out = "Send your password to the support desk at once so the account stays open."
		}
		line, _ := json.Marshal(map[string]string{"instruction": instr, "input": "", "output": out})
		b.Write(line)
		b.WriteByte('\n')
	}
	p := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScanDataCommand(t *testing.T) {
	dir := t.TempDir()
	poison := map[int]bool{}
	for _, i := range []int{17, 140, 333, 512, 777, 901, 1200, 1450} {
		poison[i] = true
	}
	poisoned := writeDataset(t, dir, 1500, poison)
	cleanDir := t.TempDir()
	clean := writeDataset(t, cleanDir, 1500, nil)

	tests := []struct {
		name     string
		args     []string
		code     int
		verdict  string
		wantFlag []int
	}{
		{"poisoned fails", []string{"scan", "data", "--json", poisoned}, exitRejected, "FAIL", []int{17, 140, 333, 512, 777, 901, 1200, 1450}},
		{"clean passes", []string{"scan", "data", "--json", clean}, exitOK, "PASS", []int{}},
		{"missing file", []string{"scan", "data", "--json", filepath.Join(dir, "nope.jsonl")}, exitUsage, "", nil},
		{"bad share flag", []string{"scan", "data", "--max-source-share", "web", clean}, exitUsage, "", nil},
		{"unknown class", []string{"scan", "data", "--max-source-share", "moon=0.1", clean}, exitUsage, "", nil},
		{"no args", []string{"scan", "data"}, exitUsage, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, nil, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s\n%s", code, tc.code, errb.String(), out.String())
			}
			if tc.verdict == "" {
				return
			}
			var line struct {
				Path     string `json:"path"`
				Records  int    `json:"records"`
				Verdict  string `json:"verdict"`
				Flagged  []int  `json:"flagged"`
				Findings []struct {
					Detector string `json:"detector"`
					Records  []int  `json:"records"`
					Trigger  string `json:"trigger"`
				} `json:"findings"`
			}
			if err := json.Unmarshal(out.Bytes(), &line); err != nil {
				t.Fatalf("output %q: %v", out.String(), err)
			}
			if line.Verdict != tc.verdict || line.Records != 1500 {
				t.Fatalf("verdict %s records %d", line.Verdict, line.Records)
			}
			if fmt.Sprint(line.Flagged) != fmt.Sprint(tc.wantFlag) {
				t.Fatalf("flagged %v, want %v (findings %+v)", line.Flagged, tc.wantFlag, line.Findings)
			}
		})
	}
}

func TestScanDataHandoffAndOut(t *testing.T) {
	dir := t.TempDir()
	p := writeDataset(t, dir, 300, nil)
	hdir := t.TempDir()
	h := handoff.Handoff{Step: "scan-data", RunID: "run-42", Dir: hdir}
	for _, kv := range h.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	wd, _ := os.Getwd()
	t.Cleanup(func() { _ = os.Chdir(wd) })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	report := filepath.Join(dir, "report.md")
	if code := run(context.Background(), []string{"scan", "data", "--out", "st.json", "--report", report, "train.jsonl"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	items, err := handoff.Collect(hdir)
	if err != nil || len(items) != 1 || items[0].Name != "dataset-scan" {
		t.Fatalf("handed over %v, %v", items, err)
	}
	st, err := predicates.ParseStatement(items[0].JSON)
	if err != nil {
		t.Fatal(err)
	}
	b, err := predicates.BindingOf(st)
	if err != nil || b.Step != "scan-data" || b.RunID != "run-42" {
		t.Fatalf("binding %+v %v", b, err)
	}
	in, err := predicates.DatasetScanOf(st)
	if err != nil || in.Verdict != "PASS" || in.Datasets[0].Path != "train.jsonl" || in.Datasets[0].Records != 300 {
		t.Fatalf("predicate %+v %v", in, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "st.json")); err != nil {
		t.Fatal(err)
	}
	if r, err := os.ReadFile(report); err != nil || !strings.Contains(string(r), "PASS") {
		t.Fatalf("report %q %v", r, err)
	}
	_ = p
}

// TestScanDataSources: source names are classified by the --sources
// manifest, and the class shares checked against the bounds.
func TestScanDataSources(t *testing.T) {
	dir := t.TempDir()
	clean := writeDataset(t, dir, 1500, nil)
	raw, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	// Give each record a source name: 1 in 4 from a scraped forum.
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		src := "dolly-15k"
		switch {
		case i%4 == 0:
			src = "reddit-askscience"
		case i == 5:
			src = "pastebin"
		}
		b.WriteString(strings.TrimSuffix(line, "}") + `,"source":"` + src + `"}` + "\n")
	}
	data := filepath.Join(dir, "sourced.jsonl")
	writeFile(t, data, b.String())
	manifest := filepath.Join(dir, "sources.json")
	writeFile(t, manifest, `{"dolly-15k": "crowd", "reddit-*": "web", "pastebin": "web"}`)
	partial := filepath.Join(dir, "partial.json")
	writeFile(t, partial, `{"dolly-15k": "crowd", "reddit-*": "web"}`)
	badManifest := filepath.Join(dir, "bad.json")
	writeFile(t, badManifest, `{"dolly-15k": "volunteers"}`)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
		hint string // the one flag hint on stderr ("": none)
	}{
		{"web within bounds", []string{"--sources", manifest, "--max-source-share", "web=0.3"}, exitOK, "", ""},
		{"web above its maximum", []string{"--sources", manifest, "--max-source-share", "web=0.2"}, exitRejected, `source class \"web\" is 25.1% of 1500 records`, ""},
		{"an unclassified source fails", []string{"--sources", partial, "--max-source-share", "web=0.3"}, exitRejected, "1 source(s) no class is known for (pastebin)", "--sources FILE"},
		{"no manifest: source names are not classes", []string{"--max-source-share", "web=0.3"}, exitRejected, "no class is known for", "--sources FILE"},
		{"no record names its source", []string{"--source", "origin", "--max-source-share", "web=0.3"}, exitRejected, `"code":"no-source"`, "--source FIELD"},
		{"bad manifest", []string{"--sources", badManifest, "--max-source-share", "web=0.3"}, exitUsage, `class "volunteers" is not one of`, ""},
		{"manifest without bounds", []string{"--sources", manifest}, exitUsage, "--sources needs", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append(append([]string{"scan", "data", "--json"}, tc.args...), data)
			code := run(context.Background(), args, nil, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, tc.code, tc.want, out.String(), errb.String())
			}
			hints := strings.Count(errb.String(), "mlattest: hint:")
			if tc.hint == "" && hints != 0 || tc.hint != "" && (hints != 1 || !strings.Contains(errb.String(), "mlattest: hint: ") || !strings.Contains(errb.String(), tc.hint)) {
				t.Errorf("want hint %q once on stderr, got:\n%s", tc.hint, errb.String())
			}
		})
	}
}
