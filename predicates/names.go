package predicates

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Artifact names and digest sets are judged as written: verification
// compares names byte for byte (a released file against a product, a
// material against another step's product), so a name that only means a
// file after cleaning ("a/../b", "./b", "a//b") or that looks like another
// name ("b\u200d", NFD "é") would let one file pass as another. Such names
// are rejected, never normalised.

// ErrArtifactName is wrapped by every error about an artifact name that is
// neither a clean relative path nor a URI.
var ErrArtifactName = errors.New("bad artifact name")

// ErrDigestSet is wrapped by every error about a digest set with an
// algorithm mlattest cannot compute or a malformed value.
var ErrDigestSet = errors.New("bad digest set")

// DigestAlgorithms are the digest-set algorithms mlattest can compute, with
// their lengths in hex characters. A digest set may list only these, in
// lowercase hex, and always lists sha256.
var DigestAlgorithms = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

// uriSchemeRE is a URI scheme followed by "://" (hf://, oci://,
// git+https://): such a name is a URI, compared exactly and never a path.
// A descriptor's uri field needs only the scheme and ":".
var (
	uriSchemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)
	uriFieldRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// CheckArtifactName accepts a resource descriptor's name: a clean relative
// slash path (no empty, "." or ".." segment, no leading "/"; one trailing
// "/" only for a directory manifest's name), or a URI scheme://… whose path
// has no "." or ".." segment. Either way it must be NFC-normalised UTF-8
// without backslashes, control or format characters. Errors wrap
// ErrArtifactName.
func CheckArtifactName(name string) error {
	if uriSchemeRE.MatchString(name) {
		return checkURIName(name)
	}
	return CheckPathName(strings.TrimSuffix(name, "/"))
}

// CheckPathName accepts only a clean relative slash path (see
// CheckArtifactName): the names of files in a released tree or a manifest.
func CheckPathName(name string) error {
	if err := checkChars(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "/") {
		return nameErr(name, "is absolute (leading \"/\")")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if err := checkSegment(name, seg); err != nil {
			return err
		}
	}
	return nil
}

// checkURIName checks a URI used as a name; its path segments may be empty
// (file:///x) but never "." or "..".
func checkURIName(name string) error {
	if err := checkChars(name); err != nil {
		return err
	}
	if !uriFieldRE.MatchString(name) {
		return nameErr(name, "is not a URI (no scheme)")
	}
	_, rest, _ := strings.Cut(name, ":")
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == "." || seg == ".." {
			return nameErr(name, "has a %q segment", seg)
		}
	}
	return nil
}

func checkSegment(name, seg string) error {
	switch seg {
	case "":
		return nameErr(name, "has an empty segment")
	case ".", "..":
		return nameErr(name, "has a %q segment", seg)
	}
	return nil
}

func checkChars(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrArtifactName)
	}
	if !utf8.ValidString(name) {
		return nameErr(name, "is not valid UTF-8")
	}
	for _, r := range name {
		switch {
		case r == '\\':
			return nameErr(name, "has a backslash")
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r):
			return nameErr(name, "has the control or format character %U", r)
		}
	}
	if !norm.NFC.IsNormalString(name) {
		return nameErr(name, "is not NFC-normalised")
	}
	return nil
}

func nameErr(name, format string, args ...any) error {
	return fmt.Errorf("%w: %q %s", ErrArtifactName, name, fmt.Sprintf(format, args...))
}

// CheckDigestSet accepts a digest set that lists sha256 and otherwise only
// algorithms of DigestAlgorithms, each as lowercase hex of its length; what
// names the artifact in errors, which wrap ErrDigestSet.
func CheckDigestSet(what string, d map[string]string) error {
	if _, ok := d["sha256"]; !ok {
		return fmt.Errorf("%w: %s has no sha256 digest", ErrDigestSet, what)
	}
	for _, alg := range slices.Sorted(maps.Keys(d)) {
		n, known := DigestAlgorithms[alg]
		if !known {
			return fmt.Errorf("%w: %s lists a %q digest, which mlattest cannot compute (want %s)", ErrDigestSet, what, alg, digestAlgorithmList())
		}
		if v := d[alg]; len(v) != n || strings.Trim(v, "0123456789abcdef") != "" {
			return fmt.Errorf("%w: %s: %s digest %q is not %d lowercase hex characters", ErrDigestSet, what, alg, v, n)
		}
	}
	return nil
}

func digestAlgorithmList() string {
	return strings.Join(slices.Sorted(maps.Keys(DigestAlgorithms)), ", ")
}

// checkDescriptorDocs applies CheckArtifactName and CheckDigestSet to the
// resource descriptors of a decoded JSON array (statement subjects or link
// materials), before any schema: a bad name or digest set is reported as
// such. Values of the wrong JSON type are left to the schema.
func checkDescriptorDocs(kind string, v any) error {
	list, _ := v.([]any)
	for i, rd := range list {
		name, _ := lookup(rd, "name").(string)
		uri, _ := lookup(rd, "uri").(string)
		what := fmt.Sprintf("%s %d", kind, i)
		if name != "" {
			if err := CheckArtifactName(name); err != nil {
				return fmt.Errorf("predicates: %s: %w", what, err)
			}
			what = fmt.Sprintf("%s %q", kind, name)
		}
		if uri != "" {
			if err := checkURIName(uri); err != nil {
				return fmt.Errorf("predicates: %s: uri: %w", what, err)
			}
			if name == "" {
				what = fmt.Sprintf("%s %q", kind, uri)
			}
		}
		if m, ok := lookup(rd, "digest").(map[string]any); ok {
			d := make(map[string]string, len(m))
			for k, v := range m {
				s, ok := v.(string)
				if !ok {
					return fmt.Errorf("predicates: %w: %s: %s digest is not a string", ErrDigestSet, what, k)
				}
				d[k] = s
			}
			if err := CheckDigestSet(what, d); err != nil {
				return fmt.Errorf("predicates: %w", err)
			}
		}
	}
	return nil
}
