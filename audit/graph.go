package audit

import (
	"crypto/x509"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// StepRecord is what one step's link statement says, for the provenance
// graph.
type StepRecord struct {
	Step      string
	Bundle    string // the bundle's file name
	Signer    string // as the bundle claims it (verify checks it)
	Materials []digest.Artifact
	Products  []digest.Artifact
}

// LoadRun reads the link statements of the bundles in dir (*.sigstore.json,
// and witness's *.dsse.json envelopes; not recursive). Bundles are parsed, not verified: the graph shows what a
// run claims, and `mlattest verify` judges it.
func LoadRun(dir string) ([]StepRecord, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*"+predicates.BundleSuffix))
	if err != nil {
		return nil, err
	}
	envelopes, err := filepath.Glob(filepath.Join(dir, "*"+predicates.EnvelopeSuffix))
	if err != nil {
		return nil, err
	}
	names = append(names, envelopes...)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("attestations %s: %w", dir, err)
	}
	var out []StepRecord
	for _, name := range names {
		data, err := fsutil.ReadFileMax(name, verify.MaxBundleSize)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", name, err)
		}
		rec, err := ReadStepRecord(name, data)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, *rec)
		}
	}
	return out, nil
}

// ReadStepRecord parses one bundle (named name in errors; Bundle is its
// base name) and returns its link statement's record, or nil when it holds
// no link statement. The bundle is parsed, not verified.
func ReadStepRecord(name string, data []byte) (*StepRecord, error) {
	parse := verify.ParseBundle
	if strings.HasSuffix(name, predicates.EnvelopeSuffix) {
		parse = verify.ParseEnvelope // a bare DSSE envelope (witness)
	}
	b, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", name, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, nil
	}
	vm := b.GetVerificationMaterial()
	signer := claimedSigner(vm.GetCertificate().GetRawBytes(), vm.GetPublicKey().GetHint())
	if _, c, err := predicates.ParseWitnessStatement(env.GetPayload()); err == nil {
		// A witness collection records its step as a link does.
		return &StepRecord{Step: c.Name, Bundle: filepath.Base(name), Signer: signer,
			Materials: namedArtifacts(c.Materials), Products: namedArtifacts(c.Products)}, nil
	}
	st, err := predicates.ParseStatement(env.GetPayload())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if st.GetPredicateType() != predicates.LinkV03 {
		return nil, nil
	}
	link, err := predicates.LinkOf(st)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	mats, err := predicates.LinkMaterials(link)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rec := &StepRecord{Step: link.GetName(), Bundle: filepath.Base(name), Materials: mats, Signer: signer}
	for _, s := range st.GetSubject() {
		rec.Products = append(rec.Products, digest.Artifact{Name: s.GetName(), SHA256: s.GetDigest()["sha256"]})
	}
	return rec, nil
}

// namedArtifacts is a witness attestor's artifacts as the graph draws them
// (by name and SHA-256).
func namedArtifacts(in []predicates.NamedDigests) []digest.Artifact {
	out := make([]digest.Artifact, 0, len(in))
	for _, a := range in {
		out = append(out, digest.Artifact{Name: a.Name, SHA256: a.Digests["sha256"]})
	}
	return out
}

func claimedSigner(certDER []byte, keyHint string) string {
	if len(certDER) > 0 {
		if c, err := x509.ParseCertificate(certDER); err == nil {
			if s, err := certificate.SummarizeCertificate(c); err == nil {
				return s.SubjectAlternativeName
			}
		}
		return "(unreadable certificate)"
	}
	if keyHint != "" {
		return "key " + keyHint
	}
	return "key"
}

// Graph is a run drawn as steps → artifacts → steps.
type Graph struct {
	Steps     []GraphStep
	Artifacts []GraphArtifact
	Edges     []GraphEdge
}

// GraphStep is a step node; Problem is why it is drawn red ("" when fine).
// Verdict is the release gate's (PASSED or FAILED) in a graph drawn from a
// verification report, "" in one drawn from claims alone.
type GraphStep struct {
	ID, Name, Signer, Verdict, Problem string
	Column                             int
}

// GraphArtifact is an artifact node: a name and a digest. Mismatch: a step
// consumed this name with a digest its producer did not produce.
type GraphArtifact struct {
	ID, Name, Digest string
	Mismatch         bool
	Column           int
}

// GraphEdge links a step and an artifact (product: step → artifact;
// material: artifact → step).
type GraphEdge struct {
	From, To string
	Mismatch bool
}

// BuildGraph lays out the run. With a layout, steps it does not name and
// layout steps with no statement are problems.
func BuildGraph(recs []StepRecord, l *layouts.Layout) *Graph {
	if l == nil {
		return buildGraph(recs, nil)
	}
	names := make([]string, 0, len(l.Steps))
	for _, s := range l.Steps {
		names = append(names, s.Name)
	}
	return buildGraph(recs, names)
}

// buildGraph lays out the run; steps, when not nil, are the expected steps
// in layout order.
func buildGraph(recs []StepRecord, steps []string) *Graph {
	g := &Graph{}
	byStep := map[string]*StepRecord{}
	var order []string
	for i := range recs {
		r := &recs[i]
		if _, ok := byStep[r.Step]; !ok {
			order = append(order, r.Step)
			byStep[r.Step] = &StepRecord{Step: r.Step, Signer: r.Signer}
		}
		byStep[r.Step].Materials = append(byStep[r.Step].Materials, r.Materials...)
		byStep[r.Step].Products = append(byStep[r.Step].Products, r.Products...)
	}
	// Steps in dependency order: a step after every step whose products it
	// reads; ties by layout order, then name.
	layoutPos := map[string]int{}
	for i, s := range steps {
		layoutPos[s] = i + 1
		if _, ok := byStep[s]; !ok {
			order = append(order, s)
			byStep[s] = &StepRecord{Step: s}
		}
	}
	producer := map[string]string{} // artifact name -> step
	for _, s := range order {
		for _, p := range byStep[s].Products {
			producer[p.Name] = s
		}
	}
	rank := map[string]int{}
	var rankOf func(s string, depth int) int
	rankOf = func(s string, depth int) int {
		if r, ok := rank[s]; ok || depth > len(order) {
			return r
		}
		r := 0
		for _, m := range byStep[s].Materials {
			if p, ok := producer[m.Name]; ok && p != s {
				r = max(r, rankOf(p, depth+1)+1)
			}
		}
		rank[s] = r
		return r
	}
	for _, s := range order {
		rankOf(s, 0)
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if rank[a] != rank[b] {
			return rank[a] < rank[b]
		}
		if layoutPos[a] != layoutPos[b] {
			return layoutPos[a] < layoutPos[b]
		}
		return a < b
	})
	artID := map[string]string{} // name+digest -> id
	addArt := func(a digest.Artifact, col int, mismatch bool) string {
		key := a.Name + "\x00" + a.SHA256
		if id, ok := artID[key]; ok {
			if mismatch {
				for i := range g.Artifacts {
					if g.Artifacts[i].ID == id {
						g.Artifacts[i].Mismatch = true
					}
				}
			}
			return id
		}
		id := fmt.Sprintf("a%d", len(g.Artifacts)+1)
		artID[key] = id
		g.Artifacts = append(g.Artifacts, GraphArtifact{ID: id, Name: a.Name, Digest: shortDigest(a.SHA256), Mismatch: mismatch, Column: col})
		return id
	}
	// byOther: another step than s produced name with this digest.
	byOther := func(s, name, sha string) bool {
		for _, o := range order {
			if o == s {
				continue
			}
			for _, p := range byStep[o].Products {
				if p.Name == name && p.SHA256 == sha {
					return true
				}
			}
		}
		return false
	}
	for i, s := range order {
		rec := byStep[s]
		id := fmt.Sprintf("s%d", i+1)
		st := GraphStep{ID: id, Name: s, Signer: rec.Signer, Column: 2*rank[s] + 1}
		switch {
		case steps != nil && layoutPos[s] == 0:
			st.Problem = "not in the layout"
		case len(rec.Materials) == 0 && len(rec.Products) == 0 && steps != nil:
			st.Problem = "no statement"
		}
		g.Steps = append(g.Steps, st)
		for _, m := range rec.Materials {
			// Read under a name some other step wrote, but not those bytes.
			mismatch := false
			for _, o := range order {
				if o != s && slices.ContainsFunc(byStep[o].Products, func(p digest.Artifact) bool { return p.Name == m.Name }) {
					mismatch = !byOther(s, m.Name, m.SHA256)
				}
			}
			col := 0
			if p, ok := producer[m.Name]; ok && !mismatch {
				col = 2*rank[p] + 2
			} else if mismatch {
				col = st.Column - 1
			}
			aid := addArt(m, col, mismatch)
			g.Edges = append(g.Edges, GraphEdge{From: aid, To: id, Mismatch: mismatch})
			if mismatch {
				g.Steps[len(g.Steps)-1].Problem = "reads " + m.Name + " with a digest no step produced"
			}
		}
		for _, p := range rec.Products {
			g.Edges = append(g.Edges, GraphEdge{From: id, To: addArt(p, st.Column+1, false)})
		}
	}
	return g
}

// LoadVerifiedRun reads the link statements of the bundles the report
// evaluated (by file name, through read): the run as verified. Other
// bundles, rejected or of another run, are not read at all.
func LoadVerifiedRun(rep *gate.Report, read func(file string) ([]byte, error)) ([]StepRecord, error) {
	var out []StepRecord
	for _, b := range rep.Bundles {
		if !b.Evaluated {
			continue
		}
		data, err := read(b.File)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", b.File, err)
		}
		rec, err := ReadStepRecord(b.File, data)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, *rec)
		}
	}
	return out, nil
}

// VerifiedGraph draws the run a verification report judged: the link
// statements its evaluation used (recs whose Bundle the report lists as
// evaluated; others, rejected or of another run, prove nothing), the
// layout's steps with the gate's verdict, each failing step with its first
// failure's reason, and the artifacts a step's failures name, in red.
func VerifiedGraph(recs []StepRecord, rep *gate.Report) *Graph {
	evaluated := map[string]bool{}
	for _, b := range rep.Bundles {
		if b.Evaluated {
			evaluated[b.File] = true
		}
	}
	used := make([]StepRecord, 0, len(recs))
	for _, r := range recs {
		if evaluated[r.Bundle] {
			used = append(used, r)
		}
	}
	var steps []string
	verdicts := map[string]*gate.StepReport{}
	for i := range rep.Steps {
		steps = append(steps, rep.Steps[i].Name)
		verdicts[rep.Steps[i].Name] = &rep.Steps[i]
	}
	// A step fails on its own failures and on those the report adds
	// naming it (the released model against the subject step's products).
	failures := map[string][]gate.Failure{}
	for _, f := range rep.Failures {
		failures[f.Step] = append(failures[f.Step], f)
	}
	g := buildGraph(used, steps)
	for i := range g.Steps {
		s := &g.Steps[i]
		v, ok := verdicts[s.Name]
		if !ok {
			continue
		}
		fs := append(slices.Clone(v.Failures), failures[s.Name]...)
		s.Verdict, s.Problem = "PASSED", ""
		if !v.Passed || len(fs) > 0 {
			s.Verdict, s.Problem = "FAILED", "failed"
			if len(fs) > 0 {
				s.Problem = fs[0].Reason
			}
		}
	}
	// The artifacts a failure names, where the failing step touches them.
	stepID := map[string]string{}
	for _, s := range g.Steps {
		stepID[s.Name] = s.ID
	}
	artName := map[string]string{}
	for _, a := range g.Artifacts {
		artName[a.ID] = a.Name
	}
	bad := map[string]bool{}
	for _, f := range rep.Failures {
		id, ok := stepID[f.Step]
		if !ok || f.Artifact == "" {
			continue
		}
		for i, e := range g.Edges {
			if (e.To == id && artName[e.From] == f.Artifact) || (e.From == id && artName[e.To] == f.Artifact) {
				g.Edges[i].Mismatch = true
				bad[e.From], bad[e.To] = true, true
			}
		}
	}
	for i := range g.Artifacts {
		if bad[g.Artifacts[i].ID] {
			g.Artifacts[i].Mismatch = true
		}
	}
	if len(g.Steps) == 0 && len(rep.Failures) > 0 {
		// Nothing was evaluated (the layout was refused): the picture
		// says why rather than nothing.
		g.Steps = append(g.Steps, GraphStep{ID: "s1", Name: "layout " + filepath.Base(rep.Layout.File),
			Verdict: "FAILED", Problem: rep.Failures[0].Reason})
	}
	return g
}

func shortDigest(h string) string {
	if len(h) > 12 {
		h = h[:12]
	}
	return "sha256:" + h
}

// Mermaid renders the graph as a Mermaid flowchart for Markdown.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, s := range g.Steps {
		label := s.Name
		if s.Signer != "" {
			label += "<br/>" + s.Signer
		}
		if s.Verdict != "" {
			label += "<br/>" + s.Verdict
		}
		if s.Problem != "" {
			label += "<br/>" + s.Problem
		}
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", s.ID, mermaidEscape(label))
	}
	for _, a := range g.Artifacts {
		fmt.Fprintf(&b, "  %s([\"%s<br/>%s\"])\n", a.ID, mermaidEscape(a.Name), a.Digest)
	}
	var bad []int
	for i, e := range g.Edges {
		fmt.Fprintf(&b, "  %s --> %s\n", e.From, e.To)
		if e.Mismatch {
			bad = append(bad, i)
		}
	}
	b.WriteString("  classDef bad fill:#fdd,stroke:#c00,color:#900\n")
	var badNodes []string
	for _, s := range g.Steps {
		if s.Problem != "" {
			badNodes = append(badNodes, s.ID)
		}
	}
	for _, a := range g.Artifacts {
		if a.Mismatch {
			badNodes = append(badNodes, a.ID)
		}
	}
	if len(badNodes) > 0 {
		fmt.Fprintf(&b, "  class %s bad\n", strings.Join(badNodes, ","))
	}
	for _, i := range bad {
		fmt.Fprintf(&b, "  linkStyle %d stroke:#c00,stroke-width:2px\n", i)
	}
	return b.String()
}

func mermaidEscape(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<br/>", "<br/>", "<", "#lt;", ">", "#gt;").Replace(s)
}

// SVG renders the graph as a standalone SVG picture: columns left to right
// (raw inputs, then each step with its products), problems in red.
func (g *Graph) SVG() string {
	const colW, rowH, boxW, boxH, margin = 230, 70, 200, 52, 20
	type pos struct{ x, y int }
	at := map[string]pos{}
	rows := map[int]int{}
	place := func(id string, col int) {
		at[id] = pos{margin + col*colW, margin + rows[col]*rowH}
		rows[col]++
	}
	for _, s := range g.Steps {
		place(s.ID, s.Column)
	}
	for _, a := range g.Artifacts {
		place(a.ID, a.Column)
	}
	width, height := 0, 0
	for _, p := range at {
		width, height = max(width, p.x+boxW+margin), max(height, p.y+boxH+margin)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>` +
		`<marker id="arrow-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c00"/></marker></defs>` + "\n")
	for _, e := range g.Edges {
		f, t := at[e.From], at[e.To]
		color, marker := "#555", "arrow"
		if e.Mismatch {
			color, marker = "#c00", "arrow-bad"
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.5" marker-end="url(#%s)"/>`+"\n",
			f.x+boxW, f.y+boxH/2, t.x, t.y+boxH/2, color, marker)
	}
	box := func(id string, rx int, bad bool, lines ...string) {
		p := at[id]
		fill, stroke := "#eef4ff", "#36c"
		if rx > 0 {
			fill, stroke = "#f6f6f6", "#888"
		}
		if bad {
			fill, stroke = "#fdd", "#c00"
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="%s"/>`+"\n", p.x, p.y, boxW, boxH, rx, fill, stroke)
		for i, l := range lines {
			if len(l) > 34 {
				l = l[:33] + "…"
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", p.x+8, p.y+16+i*14, html.EscapeString(l))
		}
	}
	for _, s := range g.Steps {
		lines := []string{s.Name, s.Signer, s.Verdict}
		if s.Problem != "" {
			lines = append(lines, s.Problem)
		}
		box(s.ID, 0, s.Problem != "", slices.DeleteFunc(lines, func(x string) bool { return x == "" })...)
	}
	for _, a := range g.Artifacts {
		box(a.ID, 14, a.Mismatch, a.Name, a.Digest)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
