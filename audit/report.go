package audit

import (
	"context"
	"fmt"
	"html"
	"slices"
	"sort"
	"strings"
	"time"
)

// AuditReport is what an auditor files: the functionaries' entries since a
// time, per identity, the alarms, and the checkpoint everything was proven
// against.
type AuditReport struct {
	Log        string
	Checkpoint *Checkpoint
	// Previous is the checkpoint of the monitor state, when given, and
	// Consistent whether the current one was proven to extend it.
	Previous   *Checkpoint
	Consistent bool
	Since      time.Time
	From, To   uint64
	// ByIdentity: functionary entries signed at or after Since, by signer.
	ByIdentity map[string][]*Entry
	Alarms     []Alarm
}

// BuildReport scans the whole log (proven against its current checkpoint),
// proves it consistent with prev when given, and collects the entries w's
// functionaries signed at or after since (by certificate time) and the
// alarms w raises for them.
func (l *Log) BuildReport(ctx context.Context, prev *Checkpoint, w *Watch, since time.Time) (*AuditReport, error) {
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	r := &AuditReport{Log: l.URL(), Checkpoint: cp, Previous: prev, Since: since, To: cp.Size, ByIdentity: map[string][]*Entry{}}
	if prev != nil {
		if err := l.Consistency(ctx, prev, cp); err != nil {
			return nil, err
		}
		r.Consistent = true
	}
	res, err := l.scanEntries(ctx, cp, 0, cp.Size, nil, func(e *Entry) bool {
		byF, alarms := w.check(e)
		return byF || len(alarms) > 0
	})
	if err != nil {
		return nil, err
	}
	for _, e := range res.Matches {
		if !signedSince(e, since) {
			continue
		}
		byF, alarms := w.check(e)
		if byF {
			for _, s := range e.Signers {
				if w.functionaryOf(s) != "" {
					k := signerName(s)
					r.ByIdentity[k] = append(r.ByIdentity[k], e)
				}
			}
		}
		r.Alarms = append(r.Alarms, alarms...)
	}
	for _, u := range res.Unreadable {
		r.Alarms = append(r.Alarms, Alarm{Code: AlarmUnreadableEntry, Index: u.Index, Reason: u.Reason})
	}
	return r, nil
}

// signedSince: an entry with no certificate time counts (keys carry none).
func signedSince(e *Entry, since time.Time) bool {
	for _, s := range e.Signers {
		if s.NotBefore == nil || !s.NotBefore.Before(since) {
			return true
		}
	}
	return false
}

func (r *AuditReport) identities() []string {
	ids := make([]string, 0, len(r.ByIdentity))
	for id := range r.ByIdentity {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Markdown renders the report; timeline names the SVG file to embed ("" for none).
func (r *AuditReport) Markdown(timeline string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Transparency log audit\n\n")
	fmt.Fprintf(&b, "- Log: `%s`\n", r.Log)
	fmt.Fprintf(&b, "- Checkpoint verified: origin `%s`, size %d, root `%x`\n", r.Checkpoint.Origin, r.Checkpoint.Size, r.Checkpoint.Hash)
	if r.Previous != nil {
		fmt.Fprintf(&b, "- Consistency with the previous checkpoint (size %d): %s\n", r.Previous.Size, map[bool]string{true: "proven", false: "NOT proven"}[r.Consistent])
	} else {
		b.WriteString("- Consistency: no previous checkpoint given\n")
	}
	fmt.Fprintf(&b, "- Entries [0, %d) proven; signed since %s\n\n", r.To, r.Since.UTC().Format(time.RFC3339))
	b.WriteString("## Entries per identity\n\n| identity | entries | first index | last index |\n|---|---:|---:|---:|\n")
	for _, id := range r.identities() {
		es := r.ByIdentity[id]
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", mdEscape(id), len(es), es[0].Index, es[len(es)-1].Index)
	}
	fmt.Fprintf(&b, "\n## Alarms (%d)\n\n", len(r.Alarms))
	if len(r.Alarms) == 0 {
		b.WriteString("None.\n")
	}
	for _, a := range r.Alarms {
		fmt.Fprintf(&b, "- **%s** (entry %d): %s\n", a.Code, a.Index, mdEscape(a.Reason))
	}
	if timeline != "" {
		fmt.Fprintf(&b, "\n## Signing activity\n\n![signing activity per identity](%s)\n", timeline)
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "'").Replace(s)
}

// HTML renders the report as a standalone page with the timeline inline.
func (r *AuditReport) HTML() string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Transparency log audit</title></head><body>\n<h1>Transparency log audit</h1>\n<ul>\n")
	fmt.Fprintf(&b, "<li>Log: <code>%s</code></li>\n", html.EscapeString(r.Log))
	fmt.Fprintf(&b, "<li>Checkpoint verified: origin <code>%s</code>, size %d</li>\n", html.EscapeString(r.Checkpoint.Origin), r.Checkpoint.Size)
	if r.Previous != nil {
		fmt.Fprintf(&b, "<li>Consistency with size %d: %s</li>\n", r.Previous.Size, map[bool]string{true: "proven", false: "NOT proven"}[r.Consistent])
	}
	b.WriteString("</ul>\n<h2>Entries per identity</h2>\n<table><tr><th>identity</th><th>entries</th></tr>\n")
	for _, id := range r.identities() {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td></tr>\n", html.EscapeString(id), len(r.ByIdentity[id]))
	}
	fmt.Fprintf(&b, "</table>\n<h2>Alarms (%d)</h2>\n<ul>\n", len(r.Alarms))
	for _, a := range r.Alarms {
		fmt.Fprintf(&b, "<li><b>%s</b> (entry %d): %s</li>\n", html.EscapeString(a.Code), a.Index, html.EscapeString(a.Reason))
	}
	b.WriteString("</ul>\n<h2>Signing activity</h2>\n")
	b.WriteString(r.TimelineSVG())
	b.WriteString("</body></html>\n")
	return b.String()
}

// TimelineSVG draws one row per identity, one tick per entry at its
// certificate time.
func (r *AuditReport) TimelineSVG() string {
	const left, width, rowH, top = 260, 600, 28, 30
	ids := r.identities()
	var lo, hi time.Time
	for _, id := range ids {
		for _, e := range r.ByIdentity[id] {
			for _, s := range e.Signers {
				if s.NotBefore == nil {
					continue
				}
				if lo.IsZero() || s.NotBefore.Before(lo) {
					lo = *s.NotBefore
				}
				if s.NotBefore.After(hi) {
					hi = *s.NotBefore
				}
			}
		}
	}
	span := hi.Sub(lo)
	if span <= 0 {
		span = time.Second
	}
	h := top + rowH*max(1, len(ids)) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", left+width+20, h)
	if !lo.IsZero() {
		fmt.Fprintf(&b, `<text x="%d" y="16">%s</text><text x="%d" y="16" text-anchor="end">%s</text>`+"\n",
			left, lo.UTC().Format(time.RFC3339), left+width, hi.UTC().Format(time.RFC3339))
	}
	for i, id := range ids {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ccc"/>`+"\n",
			y+14, html.EscapeString(truncate(id, 40)), left, y+10, left+width, y+10)
		for _, e := range r.ByIdentity[id] {
			for _, s := range e.Signers {
				if s.NotBefore == nil {
					continue
				}
				x := left + int(float64(width)*float64(s.NotBefore.Sub(lo))/float64(span))
				color := "#36c"
				if slices.ContainsFunc(r.Alarms, func(a Alarm) bool { return a.Index == e.Index }) {
					color = "#c00"
				}
				fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"><title>entry %d</title></line>`+"\n", x, y+2, x, y+18, color, e.Index)
			}
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}
