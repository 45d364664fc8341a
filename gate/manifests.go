package gate

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
)

// MaxManifestSize bounds one directory manifest read from disk (about five
// million files).
const MaxManifestSize = 512 << 20

// loadManifests reads the directory manifests that verified statements
// refer to (descriptors named "DIR/" with the manifest media type) from
// DIR/manifests/sha256-HEX.json, checking each against its digest. One that
// is missing or does not match is a failure here, and the step that needs it
// fails again when its artifacts are expanded: verification fails closed.
func loadManifests(dir string, ev *Evidence) {
	want := map[string]string{} // digest -> a directory name, for messages
	for _, vs := range ev.Statements {
		st := vs.Statement
		for _, rd := range st.GetSubject() {
			if rd.GetMediaType() == predicates.ManifestMediaType {
				want[strings.ToLower(rd.GetDigest()["sha256"])] = rd.GetName()
			}
		}
		if st.GetPredicateType() == predicates.LinkV03 {
			mats, err := vs.materials()
			if err != nil {
				continue // reported when the step is evaluated
			}
			for _, m := range mats {
				if predicates.IsManifestName(m.Name) {
					want[strings.ToLower(m.SHA256)] = m.Name
				}
			}
		}
	}
	for sum, name := range want {
		rel := filepath.Join(predicates.ManifestDir, predicates.ManifestFileName(sum))
		if !isHex64(sum) {
			continue // not a sha256: expansion reports the missing manifest
		}
		data, err := fsutil.ReadFileMax(filepath.Join(dir, rel), MaxManifestSize)
		if err != nil {
			ev.Failures = append(ev.Failures, Failure{Code: FailStatement, Artifact: name,
				Reason: fmt.Sprintf("directory manifest %s: %v", rel, err)})
			continue
		}
		entries, err := predicates.DecodeManifest(data, sum)
		if err != nil {
			ev.Failures = append(ev.Failures, Failure{Code: failureCode(err), Artifact: name,
				Reason: fmt.Sprintf("directory manifest %s: %v", rel, err)})
			continue
		}
		if ev.Manifests == nil {
			ev.Manifests = map[string][]predicates.ManifestEntry{}
		}
		ev.Manifests[sum] = entries
	}
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// expandManifests replaces every "DIR/" entry of arts by the files of its
// manifest (whose entries carry sha256 only). A manifest that was not
// loaded, or a file listed both directly and through a manifest with
// different digests, is an error.
func expandManifests(arts Artifacts, manifests map[string][]predicates.ManifestEntry) error {
	var dirs []string
	for name := range arts {
		if predicates.IsManifestName(name) {
			dirs = append(dirs, name)
		}
	}
	sort.Strings(dirs) // the first error does not depend on map order
	for _, name := range dirs {
		sum := arts[name]["sha256"]
		entries, ok := manifests[strings.ToLower(sum)]
		if !ok {
			return fmt.Errorf("directory %s: manifest %s/%s is missing or invalid in the attestations directory",
				name, predicates.ManifestDir, predicates.ManifestFileName(sum))
		}
		delete(arts, name)
		for _, e := range entries {
			full := name + e.Name
			if old, dup := arts[full]; dup {
				if _, same := old.agree(DigestSet{"sha256": e.SHA256}); !same {
					return fmt.Errorf("artifact %s: listed with %s and, in the manifest of %s, with sha256:%s", full, old, name, e.SHA256)
				}
				continue // the direct listing may carry more algorithms
			}
			arts[full] = DigestSet{"sha256": e.SHA256}
		}
	}
	return nil
}
