package predicates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mlattest/mlattest/digest"
)

// Directory manifests keep statements small for large trees: a directory
// with more files than a threshold is recorded as ONE resource descriptor
// {name: "DIR/", digest: {sha256: M}, mediaType: ManifestMediaType}, where M
// is the SHA-256 of the directory's manifest file, written content-addressed
// beside the bundles as manifests/sha256-M.json. See predicates/README.md.
const (
	// ManifestMediaType marks a descriptor whose digest is a manifest's.
	ManifestMediaType = "application/vnd.mlattest.manifest.v1+json"
	// ManifestType is the manifest's "_type".
	ManifestType = "https://mlattest.dev/manifest/v1"
	// ManifestDir is the folder, beside the bundles, holding manifests.
	ManifestDir = "manifests"
	// BundleSuffix ends the name of every Sigstore bundle mlattest writes
	// (attestations, signed layouts, pins, VSAs) and looks for.
	BundleSuffix = ".sigstore.json"
	// EnvelopeSuffix ends the name of a bare DSSE envelope in an
	// attestations directory: what another client (witness) signed without
	// a Sigstore bundle around it.
	EnvelopeSuffix = ".dsse.json"
	// UnsignedSuffix ends the name of a statement a step could not sign:
	// it is left for `mlattest sign`, and verification fails while it is
	// there. Names are for humans only: verification reads the step and
	// run from signed content.
	UnsignedSuffix = ".UNSIGNED.intoto.json"
	// DefaultManifestThreshold: a top-level directory with more files than
	// this is recorded as a manifest.
	DefaultManifestThreshold = 1000
)

// ManifestEntry is one file of a manifest: its name relative to the
// manifest's directory and its SHA-256.
type ManifestEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

type manifestFile struct {
	Type  string          `json:"_type"`
	Files []ManifestEntry `json:"files"`
}

// ManifestFileName is the content-addressed file name of a manifest.
func ManifestFileName(sha256Hex string) string { return "sha256-" + sha256Hex + ".json" }

// EncodeManifest returns the canonical bytes of a manifest of entries and
// their SHA-256 (the manifest digest): compact JSON
// {"_type":ManifestType,"files":[{"name":…,"sha256":…},…]} with entries
// sorted by name (byte order), no HTML escaping, and a final newline.
func EncodeManifest(entries []ManifestEntry) ([]byte, string, error) {
	sorted := append([]ManifestEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	if err := checkEntries(sorted); err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(manifestFile{Type: ManifestType, Files: sorted}); err != nil {
		return nil, "", fmt.Errorf("predicates: manifest: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

// DecodeManifest reads a manifest whose digest must be wantSHA256, and
// which must be in canonical form (so one list has one digest).
func DecodeManifest(data []byte, wantSHA256 string) ([]ManifestEntry, error) {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != strings.ToLower(wantSHA256) {
		return nil, fmt.Errorf("predicates: manifest digest is sha256:%s, want sha256:%s", got, wantSHA256)
	}
	var m manifestFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("predicates: manifest: %w", err)
	}
	if m.Type != ManifestType {
		return nil, fmt.Errorf("predicates: manifest _type %q, want %s", m.Type, ManifestType)
	}
	canon, _, err := EncodeManifest(m.Files)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, data) {
		return nil, errors.New("predicates: manifest is not in canonical form")
	}
	return m.Files, nil
}

func checkEntries(sorted []ManifestEntry) error {
	for i, e := range sorted {
		if err := CheckPathName(e.Name); err != nil {
			return fmt.Errorf("predicates: manifest entry: %w", err)
		}
		if !sha256RE.MatchString(e.SHA256) {
			return fmt.Errorf("predicates: manifest entry %q: bad sha256 %q", e.Name, e.SHA256)
		}
		if i > 0 && sorted[i-1].Name == e.Name {
			return fmt.Errorf("predicates: manifest entry %q appears twice", e.Name)
		}
	}
	return nil
}

// Manifest is a directory's manifest produced by CollapseArtifacts.
type Manifest struct {
	// Dir is the descriptor's name: the directory's name with a final "/".
	Dir string
	// SHA256 is the manifest digest (of Data).
	SHA256 string
	// Data is the canonical manifest file.
	Data []byte
	// Files is the number of entries.
	Files int
}

// CollapseArtifacts replaces, for every top-level directory (first name
// component) holding more than threshold files, its files by one artifact
// named "DIR/" whose SHA256 is the digest of the directory's manifest,
// returned with it. Files directly in the root are never collapsed. A
// threshold below 1 means DefaultManifestThreshold. The result is sorted.
func CollapseArtifacts(arts []digest.Artifact, threshold int) ([]digest.Artifact, []Manifest, error) {
	if threshold < 1 {
		threshold = DefaultManifestThreshold
	}
	groups := map[string][]digest.Artifact{}
	for _, a := range arts {
		if dir, _, ok := strings.Cut(a.Name, "/"); ok && !strings.Contains(a.Name, "://") {
			groups[dir] = append(groups[dir], a)
		}
	}
	var out []digest.Artifact
	var manifests []Manifest
	collapsed := map[string]bool{}
	for dir, g := range groups {
		if len(g) <= threshold {
			continue
		}
		entries := make([]ManifestEntry, len(g))
		var size int64
		for i, a := range g {
			entries[i] = ManifestEntry{Name: strings.TrimPrefix(a.Name, dir+"/"), SHA256: a.SHA256}
			size += a.Size
		}
		data, sum, err := EncodeManifest(entries)
		if err != nil {
			return nil, nil, fmt.Errorf("predicates: manifest of %s/: %w", dir, err)
		}
		collapsed[dir] = true
		manifests = append(manifests, Manifest{Dir: dir + "/", SHA256: sum, Data: data, Files: len(g)})
		out = append(out, digest.Artifact{Name: dir + "/", SHA256: sum, Size: size})
	}
	if len(collapsed) == 0 {
		return arts, nil, nil
	}
	for _, a := range arts {
		if dir, _, ok := strings.Cut(a.Name, "/"); ok && collapsed[dir] && !strings.Contains(a.Name, "://") {
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	sort.Slice(manifests, func(i, j int) bool { return manifests[i].Dir < manifests[j].Dir })
	return out, manifests, nil
}

// IsManifestName reports whether an artifact name stands for a directory
// manifest: file names never end in "/".
func IsManifestName(name string) bool { return strings.HasSuffix(name, "/") }

// ExpandManifest returns the artifacts a manifest stands for: dir (ending
// in "/") joined with every entry's name.
func ExpandManifest(dir string, entries []ManifestEntry) []digest.Artifact {
	out := make([]digest.Artifact, len(entries))
	for i, e := range entries {
		out[i] = digest.Artifact{Name: dir + e.Name, SHA256: e.SHA256}
	}
	return out
}
