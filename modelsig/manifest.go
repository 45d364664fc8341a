// Package modelsig reads and writes OpenSSF model signing (OMS) manifests:
// the in-toto statement the `model_signing` tool signs for a model directory
// (predicate type https://model_signing/signature/v1.0), and the older v0.2
// statement (https://model_signing/Digests/v0.1) it still verifies.
//
// # The v1.0 format
//
// The statement has one subject: the model's name (informative only) and,
// as its sha256, the SHA-256 of the raw digests of all resources
// concatenated in the order the predicate lists them. The predicate holds
//   - "serialization": how the model was turned into resources: method
//     "files" (one resource per file) or "shards" (one per shard_size-byte
//     range of each file, named "PATH:START:END", empty files having none),
//     hash_type ("sha256"), allow_symlinks, optionally shard_size and
//     ignore_paths (paths relative to the model, each excluding itself and
//     everything below it);
//   - "resources": {name, algorithm, digest} per file or shard, sorted by path
//     component by component (then by start offset). A file's algorithm is
//     the hash type; a shard's is "sha256-sharded-SHARDSIZE". A model that is
//     a single file has the one resource ".".
//
// Other predicate fields are ignored, as the format says. Unknown
// serialization parameters, hash types other than sha256, names that are not
// clean relative paths and duplicate names are refused: fail closed.
package modelsig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mlattest/mlattest/predicates"
)

// Predicate types and the DSSE payload type of OMS signatures.
const (
	PredicateType    = "https://model_signing/signature/v1.0"
	PredicateTypeV02 = "https://model_signing/Digests/v0.1"
	PayloadType      = "application/vnd.in-toto+json"
	statementType    = "https://in-toto.io/Statement/v1"
)

// Serialization methods.
const (
	MethodFiles  = "files"
	MethodShards = "shards"
)

// HashSHA256 is the only hash type supported.
const HashSHA256 = "sha256"

// DefaultShardSize is the model_signing tool's shard size (1 GB).
const DefaultShardSize = 1_000_000_000

// DefaultIgnorePaths are what the model_signing tool ignores unless told
// otherwise (top-level only, as it does).
func DefaultIgnorePaths() []string {
	return []string{".git", ".gitattributes", ".github", ".gitignore"}
}

// ErrFormat marks a statement that is not a well-formed OMS manifest.
var ErrFormat = errors.New("not a valid model signing manifest")

// Serialization is the predicate's "serialization" block.
type Serialization struct {
	Method        string   `json:"method"`
	HashType      string   `json:"hash_type"`
	AllowSymlinks bool     `json:"allow_symlinks"`
	ShardSize     int64    `json:"shard_size,omitempty"`
	IgnorePaths   []string `json:"ignore_paths,omitempty"`
}

// Resource is one file or shard of the model and its digest.
type Resource struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"` // lowercase hex
}

// Manifest is a model as the format describes it. Resources are kept in
// manifest order (see SortResources).
type Manifest struct {
	// ModelName is the subject's name: informative, never compared.
	ModelName     string
	Serialization Serialization
	Resources     []Resource
	// PredicateType is the statement's predicate type (PredicateType or,
	// for manifests read from old signatures, PredicateTypeV02).
	PredicateType string
}

// resourceAlgorithm is the algorithm name a resource of s must carry.
func (s Serialization) resourceAlgorithm() string {
	if s.Method == MethodShards {
		return s.HashType + "-sharded-" + strconv.FormatInt(s.ShardSize, 10)
	}
	return s.HashType
}

// Check validates the serialization parameters.
func (s Serialization) Check() error {
	switch s.Method {
	case MethodFiles:
		if s.ShardSize != 0 {
			return fmt.Errorf("%w: shard_size given for method %q", ErrFormat, s.Method)
		}
	case MethodShards:
		if s.ShardSize < 1 {
			return fmt.Errorf("%w: shard_size %d must be positive", ErrFormat, s.ShardSize)
		}
	default:
		return fmt.Errorf("%w: unknown serialization method %q", ErrFormat, s.Method)
	}
	if s.HashType != HashSHA256 {
		return fmt.Errorf("%w: hash_type %q is not supported (only %s)", ErrFormat, s.HashType, HashSHA256)
	}
	for _, p := range s.IgnorePaths {
		if err := checkRelPath(p); err != nil {
			return fmt.Errorf("%w: ignore path %q: %v", ErrFormat, p, err)
		}
	}
	return nil
}

// checkRelPath accepts clean slash-separated paths inside the model.
func checkRelPath(p string) error {
	switch {
	case p == "" || p == ".":
		return errors.New("names the whole model")
	case path.IsAbs(p):
		return errors.New("is absolute")
	case path.Clean(p) != p:
		return errors.New("is not a clean path")
	case p == ".." || strings.HasPrefix(p, "../"):
		return errors.New("leaves the model")
	case strings.ContainsRune(p, 0):
		return errors.New("contains NUL")
	}
	return nil
}

// RootDigest is the subject digest: SHA-256 over the raw resource digests in
// manifest order.
func (m *Manifest) RootDigest() ([]byte, error) {
	h := sha256.New()
	for _, r := range m.Resources {
		raw, err := decodeDigest(r.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: resource %q: %v", ErrFormat, r.Name, err)
		}
		h.Write(raw)
	}
	return h.Sum(nil), nil
}

func decodeDigest(s string) ([]byte, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != sha256.Size || strings.ToLower(s) != s {
		return nil, fmt.Errorf("digest %q is not 64 lowercase hex digits", s)
	}
	return raw, nil
}

// SortResources puts the resources in manifest order: by path compared
// component by component (so "a/b" sorts before "a-c"), then, for shards,
// numerically by start and end.
func (m *Manifest) SortResources() {
	slices.SortStableFunc(m.Resources, m.compare)
}

func (m *Manifest) compare(a, b Resource) int {
	return compareKeys(a.Name, b.Name, m.Serialization.Method == MethodShards)
}

// compareKeys orders resource names; with shards, names are "PATH:START:END".
func compareKeys(a, b string, shards bool) int {
	if !shards {
		return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
	}
	pa, sa, ea := splitShard(a)
	pb, sb, eb := splitShard(b)
	if c := slices.Compare(strings.Split(pa, "/"), strings.Split(pb, "/")); c != 0 {
		return c
	}
	if c := sa - sb; c != 0 {
		return sign(c)
	}
	return sign(ea - eb)
}

func sign(x int64) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// splitShard splits "PATH:START:END"; a name without two trailing numeric
// fields is all path.
func splitShard(name string) (string, int64, int64) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return name, 0, 0
	}
	j := strings.LastIndexByte(name[:i], ':')
	if j < 0 {
		return name, 0, 0
	}
	s, err1 := strconv.ParseInt(name[j+1:i], 10, 64)
	e, err2 := strconv.ParseInt(name[i+1:], 10, 64)
	if err1 != nil || err2 != nil {
		return name, 0, 0
	}
	return name[:j], s, e
}

// statement is the JSON shape written and read, field order as the
// model_signing tool writes it.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

type predicate struct {
	Serialization *Serialization `json:"serialization"`
	Resources     []Resource     `json:"resources"`
}

// Statement returns the in-toto statement JSON to sign (the DSSE payload).
// Resources must be in manifest order.
func (m *Manifest) Statement() ([]byte, error) {
	if err := m.Serialization.Check(); err != nil {
		return nil, err
	}
	if !slices.IsSortedFunc(m.Resources, m.compare) {
		return nil, fmt.Errorf("%w: resources are not in manifest order", ErrFormat)
	}
	root, err := m.RootDigest()
	if err != nil {
		return nil, err
	}
	pred, err := json.Marshal(predicate{Serialization: &m.Serialization, Resources: nonNil(m.Resources)})
	if err != nil {
		return nil, err
	}
	return json.Marshal(statement{
		Type:          statementType,
		Subject:       []subject{{Name: m.ModelName, Digest: map[string]string{"sha256": hex.EncodeToString(root)}}},
		PredicateType: PredicateType,
		Predicate:     pred,
	})
}

func nonNil(rs []Resource) []Resource {
	if rs == nil {
		return []Resource{}
	}
	return rs
}

// ParseStatement reads an OMS statement (the DSSE payload of a model
// signature): v1.0, or v0.2 whose subjects are the files. The root digest of
// a v1.0 manifest is checked against its subject. Every error matches
// ErrFormat.
func ParseStatement(data []byte) (*Manifest, error) {
	if err := predicates.CheckJSON(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	var st statement
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if st.Type != statementType {
		return nil, fmt.Errorf("%w: statement _type %q, want %s", ErrFormat, st.Type, statementType)
	}
	switch st.PredicateType {
	case PredicateType:
		return parseV1(&st)
	case PredicateTypeV02:
		return parseV02(&st)
	}
	return nil, fmt.Errorf("%w: predicate type %q, want %s", ErrFormat, st.PredicateType, PredicateType)
}

func parseV1(st *statement) (*Manifest, error) {
	if len(st.Subject) != 1 {
		return nil, fmt.Errorf("%w: %d subjects, want exactly one", ErrFormat, len(st.Subject))
	}
	want, err := decodeDigest(st.Subject[0].Digest["sha256"])
	if err != nil {
		return nil, fmt.Errorf("%w: subject: %v", ErrFormat, err)
	}
	var p predicate
	if err := json.Unmarshal(st.Predicate, &p); err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrFormat, err)
	}
	if p.Serialization == nil {
		return nil, fmt.Errorf("%w: predicate has no serialization block", ErrFormat)
	}
	if err := strictSerialization(st.Predicate); err != nil {
		return nil, err
	}
	m := &Manifest{ModelName: st.Subject[0].Name, Serialization: *p.Serialization, Resources: p.Resources, PredicateType: PredicateType}
	if err := m.Serialization.Check(); err != nil {
		return nil, err
	}
	if err := m.checkResources(); err != nil {
		return nil, err
	}
	got, err := m.RootDigest()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got, want) {
		return nil, fmt.Errorf("%w: inconsistent: subject digest %x, but the resources hash to %x", ErrFormat, want, got)
	}
	return m, nil
}

// strictSerialization refuses serialization parameters this package does
// not know: they could change what the resources mean.
func strictSerialization(pred json.RawMessage) error {
	var raw struct {
		Serialization map[string]json.RawMessage `json:"serialization"`
	}
	if err := json.Unmarshal(pred, &raw); err != nil {
		return fmt.Errorf("%w: predicate: %v", ErrFormat, err)
	}
	for k := range raw.Serialization {
		switch k {
		case "method", "hash_type", "allow_symlinks", "shard_size", "ignore_paths":
		default:
			return fmt.Errorf("%w: unknown serialization parameter %q", ErrFormat, k)
		}
	}
	for _, k := range []string{"method", "hash_type", "allow_symlinks"} {
		if _, ok := raw.Serialization[k]; !ok {
			return fmt.Errorf("%w: serialization has no %q", ErrFormat, k)
		}
	}
	return nil
}

// parseV02 reads the pre-1.0 statement: one subject per file, no
// serialization block (files, sha256, no symlinks) and no root digest.
func parseV02(st *statement) (*Manifest, error) {
	m := &Manifest{
		ModelName:     "",
		Serialization: Serialization{Method: MethodFiles, HashType: HashSHA256},
		PredicateType: PredicateTypeV02,
	}
	for _, s := range st.Subject {
		m.Resources = append(m.Resources, Resource{Name: s.Name, Algorithm: HashSHA256, Digest: s.Digest["sha256"]})
	}
	if err := m.checkResources(); err != nil {
		return nil, err
	}
	return m, nil
}

// checkResources validates names, algorithms and digests and refuses
// duplicates and an empty manifest (it would sign nothing).
func (m *Manifest) checkResources() error {
	if len(m.Resources) == 0 {
		return fmt.Errorf("%w: no resources: the signature covers no file", ErrFormat)
	}
	wantAlg := m.Serialization.resourceAlgorithm()
	seen := make(map[string]bool, len(m.Resources))
	for _, r := range m.Resources {
		if seen[r.Name] {
			return fmt.Errorf("%w: resource %q listed twice", ErrFormat, r.Name)
		}
		seen[r.Name] = true
		if err := checkResourceName(r.Name, m.Serialization); err != nil {
			return fmt.Errorf("%w: resource %q: %v", ErrFormat, r.Name, err)
		}
		if r.Algorithm != wantAlg {
			return fmt.Errorf("%w: resource %q: algorithm %q, want %q", ErrFormat, r.Name, r.Algorithm, wantAlg)
		}
		if _, err := decodeDigest(r.Digest); err != nil {
			return fmt.Errorf("%w: resource %q: %v", ErrFormat, r.Name, err)
		}
	}
	return nil
}

func checkResourceName(name string, s Serialization) error {
	p := name
	if s.Method == MethodShards {
		i := strings.LastIndexByte(name, ':')
		j := -1
		if i > 0 {
			j = strings.LastIndexByte(name[:i], ':')
		}
		if j < 0 {
			return errors.New("not PATH:START:END")
		}
		start, err1 := strconv.ParseInt(name[j+1:i], 10, 64)
		end, err2 := strconv.ParseInt(name[i+1:], 10, 64)
		if err1 != nil || err2 != nil || start < 0 || end <= start || end-start > s.ShardSize ||
			strconv.FormatInt(start, 10) != name[j+1:i] || strconv.FormatInt(end, 10) != name[i+1:] {
			return errors.New("bad shard range")
		}
		p = name[:j]
	}
	if p == "." {
		return nil // the model is a single file
	}
	return checkRelPath(p)
}
