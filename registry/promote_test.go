package registry

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestRollbackTarget(t *testing.T) {
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	p := func(action, c string) Promotion { return Promotion{Action: action, Digest: d(c)} }
	for _, tc := range []struct {
		name    string
		hist    []Promotion
		current string
		want    string
	}{
		{"back one", []Promotion{p("promote", "a"), p("promote", "b")}, "b", "a"},
		{"back again after a rollback", []Promotion{p("promote", "a"), p("promote", "b"), p("promote", "c"), p("rollback", "b")}, "b", "a"},
		{"re-promotions of the current are skipped", []Promotion{p("promote", "a"), p("promote", "b"), p("promote", "b")}, "b", "a"},
		{"tag moved outside mlattest", []Promotion{p("promote", "a"), p("promote", "b")}, "f", "b"},
		{"first promotion", []Promotion{p("promote", "a")}, "a", ""},
		{"after rolling back to the first", []Promotion{p("promote", "a"), p("promote", "b"), p("rollback", "a")}, "a", ""},
		{"empty", nil, "a", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RollbackTarget(tc.hist, d(tc.current))
			if tc.want == "" {
				if !errors.Is(err, ErrNoRollback) {
					t.Fatalf("want ErrNoRollback, got %q, %v", got, err)
				}
				return
			}
			if err != nil || got != d(tc.want) {
				t.Fatalf("got %q, %v; want %s", got, err, d(tc.want))
			}
		})
	}
}

func historyJSON(actions ...string) []byte {
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, ArtifactType: ArtifactTypeHistory}
	for _, a := range actions {
		im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1,
			Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}, Size: 10,
			Annotations: map[string]string{AnnotationAction: a, AnnotationTime: time.Unix(0, 0).UTC().Format(time.RFC3339)}})
	}
	b, _ := json.Marshal(im)
	return b
}

func TestParseHistory(t *testing.T) {
	if h, err := ParseHistory(historyJSON("promote", "rollback")); err != nil || len(h) != 2 || h[1].Action != ActionRollback {
		t.Fatalf("got %v, %v", h, err)
	}
	for name, raw := range map[string]string{
		"unknown action": string(historyJSON("delete")),
		"other artifact": strings.Replace(string(historyJSON("promote")), ArtifactTypeHistory, "application/x", 1),
		"bad time":       strings.Replace(string(historyJSON("promote")), "1970-01-01T00:00:00Z", "yesterday", 1),
		"trailing data":  string(historyJSON("promote")) + "[]",
		"not JSON":       "{",
	} {
		if _, err := ParseHistory([]byte(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseHistory(f *testing.F) {
	f.Add(historyJSON("promote", "rollback"))
	f.Add([]byte(`{"mediaType":"application/vnd.oci.image.index.v1+json"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := ParseHistory(raw)
		if err != nil {
			return
		}
		for _, p := range h {
			if (p.Action != ActionPromote && p.Action != ActionRollback) || !strings.HasPrefix(p.Digest, "sha256:") {
				t.Fatalf("accepted %+v", p)
			}
		}
		RollbackTarget(h, "sha256:"+strings.Repeat("a", 64))
	})
}
