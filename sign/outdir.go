package sign

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileBase is "<step>.<kind>" made safe for a file name.
func FileBase(step, kind string) string {
	clean := func(s string) string {
		s = unsafeName.ReplaceAllString(s, "_")
		return strings.Trim(s, ".")
	}
	return clean(step) + "." + clean(kind)
}

// MarshalBundle renders a bundle as Sigstore bundle JSON.
func MarshalBundle(b *protobundle.Bundle) ([]byte, error) {
	data, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	return append(data, '\n'), nil
}

// WriteBundle writes b to path atomically, replacing nothing: an existing
// file is an error.
func WriteBundle(path string, b *protobundle.Bundle) error {
	data, err := MarshalBundle(b)
	if err != nil {
		return err
	}
	return fsutil.CreateExclusive(path, data, 0o644)
}

// PendingStatements lists the unsigned statements left in dir by a run whose
// signing failed, sorted by name.
func PendingStatements(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, fsutil.Cause(err))
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), predicates.UnsignedSuffix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// BundlePathFor is where the bundle of an unsigned statement file goes.
func BundlePathFor(unsignedPath string) string {
	return strings.TrimSuffix(unsignedPath, predicates.UnsignedSuffix) + predicates.BundleSuffix
}
