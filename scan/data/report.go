package data

import (
	"fmt"
	"html"
	"io"
	"os"
	"sort"
	"strings"
)

// Excerpts reads the records at the given indices back from path, for a
// human report; at most len(idx) records are kept in memory.
func Excerpts(path string, f Format, m Mapping, idx []int) (map[int]Record, error) {
	want := make(map[int]bool, len(idx))
	for _, i := range idx {
		want[i] = true
	}
	out := map[int]Record{}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	err = Read(fh, f, m, func(loc Location, rec Record, rerr error) error {
		if want[loc.Index] && rerr == nil {
			out[loc.Index] = rec
		}
		return nil
	})
	return out, err
}

// maxReportRecords bounds how many records a finding shows in a report.
const maxReportRecords = 10

// ReportIndices are the records a report shows: the first few per finding.
func ReportIndices(rs []*Result) map[string][]int {
	out := map[string][]int{}
	for _, r := range rs {
		seen := map[int]bool{}
		for _, f := range r.Findings {
			for k, i := range f.Records {
				if k >= maxReportRecords {
					break
				}
				if !seen[i] {
					seen[i] = true
					out[r.Path] = append(out[r.Path], i)
				}
			}
		}
		sort.Ints(out[r.Path])
	}
	return out
}

// WriteReport writes a human report of the results; html selects HTML,
// otherwise Markdown. excerpts maps a result's path to its shown records.
func WriteReport(w io.Writer, rs []*Result, excerpts map[string]map[int]Record, asHTML bool) error {
	var b strings.Builder
	esc := func(s string) string {
		if asHTML {
			return html.EscapeString(s)
		}
		return strings.NewReplacer("|", `\|`, "\n", " ⏎ ", "`", "'").Replace(s)
	}
	h := func(level int, s string) {
		if asHTML {
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", level, esc(s), level)
		} else {
			fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", level), s)
		}
	}
	p := func(s string) {
		if asHTML {
			fmt.Fprintf(&b, "<p>%s</p>\n", esc(s))
		} else {
			fmt.Fprintf(&b, "%s\n\n", s)
		}
	}
	if asHTML {
		b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Dataset scan report</title></head><body>\n")
	}
	h(1, "Dataset scan report")
	for _, r := range rs {
		h(2, fmt.Sprintf("%s — %s", r.Path, r.Verdict))
		p(fmt.Sprintf("format %s, %d records (%d malformed), %d flagged, sha256 %s", r.Format, r.Records, len(r.Bad), len(r.Flagged), r.SHA256))
		if r.Incomplete != "" {
			p("The file could not be read to its end: " + r.Incomplete)
		}
		if len(r.Findings) == 0 {
			p("No findings.")
		}
		for _, f := range r.Findings {
			title := fmt.Sprintf("[%s] %s: %d record(s)", f.Severity, f.Detector, f.Count)
			h(3, title)
			p(f.Reason)
			if f.Trigger != "" || f.Target != "" {
				p(fmt.Sprintf("trigger: %q — target: %q", f.Trigger, f.Target))
			}
			shown := f.Records
			if len(shown) > maxReportRecords {
				shown = shown[:maxReportRecords]
			}
			if len(shown) == 0 {
				continue
			}
			if asHTML {
				b.WriteString("<table border=\"1\"><tr><th>record</th><th>instruction</th><th>input</th><th>response</th></tr>\n")
			} else {
				b.WriteString("| record | instruction | input | response |\n|---|---|---|---|\n")
			}
			for _, i := range shown {
				rec := excerpts[r.Path][i]
				cells := []string{fmt.Sprint(i), esc(clip(rec.Instruction)), esc(clip(rec.Input)), esc(clip(rec.Response))}
				if asHTML {
					fmt.Fprintf(&b, "<tr><td>%s</td></tr>\n", strings.Join(cells, "</td><td>"))
				} else {
					fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
				}
			}
			if asHTML {
				b.WriteString("</table>\n")
			} else {
				b.WriteString("\n")
			}
			if len(f.Records) > len(shown) {
				p(fmt.Sprintf("… and %d more: see the JSON output or the statement.", f.Count-len(shown)))
			}
		}
	}
	if asHTML {
		b.WriteString("</body></html>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clip shortens s for a report and makes invisible characters visible.
func clip(s string) string {
	var b strings.Builder
	for _, r := range snippet(s, 300) {
		if hiddenKind(r) != "" || r == 0x200D {
			fmt.Fprintf(&b, "<U+%04X>", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
