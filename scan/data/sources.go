package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/mlattest/mlattest/predicates"
)

// Unclassified is the class of records whose source name a SourceManifest
// does not classify, and of source names past the distinct-name cap.
const Unclassified = "unclassified"

// maxSourceNames caps the distinct source names counted; records with
// further names are counted as Unclassified, never dropped.
const maxSourceNames = 256

// SourceManifest maps the source names records carry (their source field,
// e.g. "dolly-15k" or "reddit-*") to source classes (predicates.SourceClasses).
// Keys are exact names or path.Match globs; a name that is itself a class
// needs no entry. It is the dataset owner's word on where each source comes
// from, so that source-mix bounds can be applied to data whose records name
// their origin rather than its class.
type SourceManifest map[string]string

// ParseSourceManifest reads a manifest: one JSON object from source name or
// glob to class. Unknown classes, bad globs, duplicate keys and empty names
// are errors.
func ParseSourceManifest(data []byte) (SourceManifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("sources manifest: want one JSON object from source name (or glob) to class")
	}
	m := SourceManifest{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("sources manifest: %w", err)
		}
		name := k.(string)
		var class string
		if err := dec.Decode(&class); err != nil {
			return nil, fmt.Errorf("sources manifest: source %q: the class must be a string: %w", name, err)
		}
		key := normSource(name)
		switch _, dup := m[key]; {
		case key == "":
			return nil, fmt.Errorf("sources manifest: empty source name")
		case dup:
			return nil, fmt.Errorf("sources manifest: source %q given twice", name)
		case !slices.Contains(predicates.SourceClasses, class):
			return nil, fmt.Errorf("sources manifest: source %q: class %q is not one of %s", name, class, strings.Join(predicates.SourceClasses, ", "))
		}
		if _, err := path.Match(key, ""); err != nil {
			return nil, fmt.Errorf("sources manifest: source %q: bad glob: %w", name, err)
		}
		m[key] = class
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("sources manifest: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("sources manifest: data after the object")
	}
	return m, nil
}

// normSource is how source names are compared: trimmed, lower case.
func normSource(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Class returns the class of a source name: an exact entry, else the
// longest matching glob (ties: the lexically first, so the answer never
// depends on map order), else the name itself when it is a class.
func (m SourceManifest) Class(name string) (string, bool) {
	name = normSource(name)
	if c, ok := m[name]; ok {
		return c, true
	}
	best := ""
	for pat := range m {
		if ok, _ := path.Match(pat, name); ok && (len(pat) > len(best) || len(pat) == len(best) && pat < best) {
			best = pat
		}
	}
	if best != "" {
		return m[best], true
	}
	if slices.Contains(predicates.SourceClasses, name) {
		return name, true
	}
	return "", false
}

// classShares turns per-name record counts into per-class counts; names the
// manifest (or the class list) does not know are counted as Unclassified
// and listed.
func classShares(names map[string]int, m SourceManifest) (classes map[string]int, unknown []string) {
	classes = map[string]int{}
	for n, c := range names {
		cl, ok := m.Class(n)
		if !ok {
			cl = Unclassified
			if n != Unclassified {
				unknown = append(unknown, n)
			}
		}
		classes[cl] += c
	}
	sort.Strings(unknown)
	return classes, unknown
}

// sourceMixFindings checks the share of records per source class against
// the configured bounds. Records without a source cannot be placed: when
// none has one the check cannot be made and fails; when some lack one the
// shares are over those that have one, and a warning says how many did not.
func sourceMixFindings(maxShare, minShare map[string]float64, m SourceManifest, names map[string]int, records int) []Finding {
	if len(maxShare)+len(minShare) == 0 {
		return nil
	}
	classes, unknown := classShares(names, m)
	total := 0
	for _, c := range classes {
		total += c
	}
	var out []Finding
	if total == 0 {
		return append(out, Finding{Detector: DetSourceMix, Severity: SevFail, Records: []int{}, Code: CodeNoSource,
			Reason: "source-mix bounds are set, but no record names its source (map the field: Mapping.Source)"})
	}
	if total < records {
		out = append(out, Finding{Detector: DetSourceMix, Severity: SevWarn, Records: []int{}, Count: records - total,
			Reason: fmt.Sprintf("%d of %d records name no source: shares are over the %d that do", records-total, records, total)})
	}
	if len(unknown) > 0 {
		shown := unknown
		if len(shown) > 10 {
			shown = shown[:10]
		}
		out = append(out, Finding{Detector: DetSourceMix, Severity: SevFail, Records: []int{}, Target: Unclassified, Count: classes[Unclassified], Code: CodeUnclassifiedSource,
			Score:  float64(classes[Unclassified]) / float64(total),
			Reason: fmt.Sprintf("%d records come from %d source(s) no class is known for (%s): give a SourceManifest that classifies them", classes[Unclassified], len(unknown), strings.Join(shown, ", "))})
	}
	check := func(class string, lim float64, max bool) {
		share := float64(classes[class]) / float64(total)
		if max && share > lim || !max && share < lim {
			word := "above the maximum"
			if !max {
				word = "below the minimum"
			}
			out = append(out, Finding{Detector: DetSourceMix, Severity: SevFail, Records: []int{}, Target: class, Score: share, Count: classes[class],
				Reason: fmt.Sprintf("source class %q is %.1f%% of %d records with a source, %s %.1f%%", class, 100*share, total, word, 100*lim)})
		}
	}
	for _, c := range sortedKeys(maxShare) {
		check(c, maxShare[c], true)
	}
	for _, c := range sortedKeys(minShare) {
		check(c, minShare[c], false)
	}
	return out
}
