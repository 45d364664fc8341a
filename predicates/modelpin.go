package predicates

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/encoding/protojson"
)

// ModelPinV1 is the predicate type `mlattest pin` writes and signs.
const ModelPinV1 = "https://mlattest.dev/attestation/model-pin/v1"

var (
	hfRepoRE   = regexp.MustCompile(`^hf://[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	commitRE40 = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ModelPinFile is one pinned file.
type ModelPinFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ModelPin says which files, with which digests, a Hugging Face repository
// holds at one commit.
//
//	{repository: "hf://ORG/NAME", revision: 40-hex commit, lfsCrossChecked, files[{path, sha256}]}
type ModelPin struct {
	Repository      string         `json:"repository"`
	Revision        string         `json:"revision"`
	LFSCrossChecked bool           `json:"lfsCrossChecked"`
	Files           []ModelPinFile `json:"files"`
}

// URI is hf://ORG/NAME@REVISION.
func (p ModelPin) URI() string { return p.Repository + "@" + p.Revision }

// ParseHFURI splits hf://ORG/NAME@REVISION; the revision must be a full
// 40-hex commit (a branch or tag can move).
func ParseHFURI(uri string) (repo, rev string, err error) {
	i := strings.LastIndex(uri, "@")
	if i < 0 {
		return "", "", fmt.Errorf("base model %q: want hf://ORG/NAME@COMMIT", uri)
	}
	repo, rev = uri[:i], uri[i+1:]
	if !hfRepoRE.MatchString(repo) {
		return "", "", fmt.Errorf("base model %q: repository must be hf://ORG/NAME", uri)
	}
	if !commitRE40.MatchString(rev) {
		return "", "", fmt.Errorf("base model %q: revision %q is not a full 40-hex commit (branches and tags move)", uri, rev)
	}
	return repo, rev, nil
}

// Check validates a pin: a full-commit hf:// URI and at least one file, each
// with a clean relative path named once and a lowercase hex SHA-256.
func (p ModelPin) Check() error {
	if _, _, err := ParseHFURI(p.URI()); err != nil {
		return err
	}
	if len(p.Files) == 0 {
		return fmt.Errorf("pin of %s has no files", p.URI())
	}
	seen := map[string]bool{}
	for _, f := range p.Files {
		if f.Path == "" || path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || strings.HasPrefix(f.Path, "../") {
			return fmt.Errorf("pin of %s: file path %q must be clean and relative", p.URI(), f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("pin of %s names %q twice", p.URI(), f.Path)
		}
		if !sha256RE.MatchString(f.SHA256) {
			return fmt.Errorf("pin of %s: file %s: sha256 %q is not 64 lowercase hex digits", p.URI(), f.Path, f.SHA256)
		}
		seen[f.Path] = true
	}
	return nil
}

// NewModelPinStatement builds the pin statement; subjects are the files as
// hf://ORG/NAME@REVISION/PATH.
func NewModelPinStatement(p ModelPin) (*intoto.Statement, error) {
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("predicates: model-pin statement: %w", err)
	}
	p.Files = append([]ModelPinFile(nil), p.Files...)
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Path < p.Files[j].Path })
	var subjects []*intoto.ResourceDescriptor
	for _, f := range p.Files {
		subjects = append(subjects, &intoto.ResourceDescriptor{Name: p.URI() + "/" + f.Path, Digest: map[string]string{"sha256": f.SHA256}})
	}
	st, err := checkedStatement(subjects, ModelPinV1, p)
	if err != nil {
		return nil, fmt.Errorf("predicates: model-pin statement: %w", err)
	}
	if _, err := ModelPinOf(st); err != nil {
		return nil, err
	}
	return st, nil
}

// ModelPinOf reads and checks a pin statement (schema, paths, and that the
// subjects are exactly the pinned files).
func ModelPinOf(st *intoto.Statement) (*ModelPin, error) {
	if st.GetPredicateType() != ModelPinV1 {
		return nil, fmt.Errorf("predicates: predicate type %q is not %s", st.GetPredicateType(), ModelPinV1)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("predicates: model-pin predicate: %w", err)
	}
	doc, err := decodeStrict(raw)
	if err != nil {
		return nil, fmt.Errorf("predicates: model-pin predicate: %w", err)
	}
	if err := validateModelPinDoc(doc); err != nil {
		return nil, err
	}
	var p ModelPin
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("predicates: model-pin predicate: %w", err)
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("predicates: model-pin predicate: %w", err)
	}
	want := map[string]string{}
	for _, f := range p.Files {
		want[p.URI()+"/"+f.Path] = f.SHA256
	}
	if len(st.GetSubject()) != len(want) {
		return nil, fmt.Errorf("predicates: model-pin statement has %d subjects for %d files", len(st.GetSubject()), len(want))
	}
	for _, s := range st.GetSubject() {
		if want[s.GetName()] != s.GetDigest()["sha256"] {
			return nil, fmt.Errorf("predicates: model-pin subject %q does not match the pinned files", s.GetName())
		}
	}
	return &p, nil
}

// validateModelPinDoc checks a decoded pin predicate against its schema;
// ModelPinOf checks the rest (paths, subjects).
func validateModelPinDoc(doc any) error {
	sch, err := modelPinSchema()
	if err != nil {
		return err
	}
	return validateAgainst(ModelPinV1, sch, doc)
}

var modelPinSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileEmbedded("model-pin-v1.schema.json")
})

// FileDigests returns the pinned files as relative path → hex SHA-256.
func (p ModelPin) FileDigests() map[string]string {
	m := make(map[string]string, len(p.Files))
	for _, f := range p.Files {
		m[f.Path] = f.SHA256
	}
	return m
}

// Mismatches compares files (relative path → hex SHA-256) with the pin and
// names every difference: an extra file, a different digest, a missing
// file. None means the files are exactly the pinned ones.
func (p ModelPin) Mismatches(files map[string]string) []string {
	want := p.FileDigests()
	var problems []string
	for name, d := range files {
		w, ok := want[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("extra file %s (not pinned)", name))
		case w != d:
			problems = append(problems, fmt.Sprintf("file %s has sha256 %s, pinned %s", name, d, w))
		}
	}
	for name := range want {
		if _, ok := files[name]; !ok {
			problems = append(problems, fmt.Sprintf("pinned file %s is missing", name))
		}
	}
	sort.Strings(problems)
	return problems
}

// BaseModelFiles picks one base model's files out of recorded resources
// (hf://ORG/NAME@REV/PATH for each file of a directory; the model URI itself
// for a single-file base model, which is then named single) as the relative
// path → SHA-256 map Mismatches takes.
func BaseModelFiles(res []Resource, model, single string) map[string]string {
	out := map[string]string{}
	for _, r := range res {
		switch {
		case r.URI == model:
			out[single] = r.SHA256
		case strings.HasPrefix(r.URI, model+"/"):
			out[strings.TrimPrefix(r.URI, model+"/")] = r.SHA256
		}
	}
	return out
}
