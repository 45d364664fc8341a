package registry

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// validManifest is a model manifest with the given layers JSON.
func validManifest(layers string) string {
	return `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"artifactType":"application/vnd.cncf.model.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.cncf.model.config.v1+json","digest":"sha256:` + strings.Repeat("c", 64) + `","size":2},` +
		`"layers":[` + layers + `]}`
}

func layer(title, mt string) string {
	return `{"mediaType":"` + mt + `","digest":"sha256:` + strings.Repeat("a", 64) + `","size":4,"annotations":{"org.opencontainers.image.title":` + strings.TrimSpace(mustJSON(title)) + `}}`
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestParseModelManifest(t *testing.T) {
	w := MediaTypeWeight
	for _, tc := range []struct {
		name, raw, err string
	}{
		{"valid", validManifest(layer("model.safetensors", w) + "," + layer("sub/config.json", MediaTypeWeightConfig)), ""},
		{"not JSON", "{", "unexpected EOF"},
		{"trailing data", validManifest(layer("a", w)) + "{}", "data after"},
		{"docker manifest", strings.Replace(validManifest(layer("a", w)), "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json", 1), "mediaType"},
		{"other artifact", strings.Replace(validManifest(layer("a", w)), ArtifactTypeModel, "application/x", 1), "artifactType"},
		{"other config", strings.Replace(validManifest(layer("a", w)), MediaTypeModelConfig, "application/x", 1), "config mediaType"},
		{"no layers", validManifest(""), "no layers"},
		{"tar layer", validManifest(layer("a", "application/vnd.cncf.model.weight.v1.tar")), "not a raw"},
		{"no title", strings.Replace(validManifest(layer("a", w)), `"annotations":{"org.opencontainers.image.title":"a"}`, `"annotations":{}`, 1), "no org.opencontainers.image.title"},
		{"absolute title", validManifest(layer("/etc/passwd", w)), "/etc/passwd"},
		{"dot-dot title", validManifest(layer("../x", w)), "../x"},
		{"unclean title", validManifest(layer("a//b", w)), "a//b"},
		{"duplicate", validManifest(layer("a", w) + "," + layer("a", w)), "twice"},
		{"file and directory", validManifest(layer("a", w) + "," + layer("a/b", w)), "directory of"},
		{"sha512 layer", strings.Replace(validManifest(layer("a", w)), `"sha256:`+strings.Repeat("a", 64), `"sha512:`+strings.Repeat("a", 128), 1), "unsupported hash"},
		{"negative size", strings.Replace(validManifest(layer("a", w)), `"size":4`, `"size":-4`, 1), "size -4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, files, err := ParseModelManifest([]byte(tc.raw))
			if tc.err == "" {
				if err != nil || len(files) != 2 || files[1].Name != "sub/config.json" {
					t.Fatalf("got %v, %v", files, err)
				}
				return
			}
			if !errors.Is(err, ErrNotModel) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("want ErrNotModel with %q, got %v", tc.err, err)
			}
		})
	}
}

func TestParseBundleReferrer(t *testing.T) {
	subject := "sha256:" + strings.Repeat("d", 64)
	ref := func(artifact, sub, kind, layers string) string {
		return `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + artifact + `",` +
			`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:` + strings.Repeat("e", 64) + `","size":2},` +
			`"layers":[` + layers + `],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + sub + `","size":10},` +
			`"annotations":{"dev.mlattest.kind":"` + kind + `"}}`
	}
	b := layer("train.link.sigstore.json", ArtifactTypeBundle)
	for _, tc := range []struct {
		name, raw, title, kind, err string
	}{
		{"attestation", ref(ArtifactTypeBundle, subject, KindAttestation, b), "train.link.sigstore.json", KindAttestation, ""},
		{"vsa", ref(ArtifactTypeBundle, subject, KindVSA, b), "train.link.sigstore.json", KindVSA, ""},
		{"no kind: another tool's bundle", ref(ArtifactTypeBundle, subject, "", b), "train.link.sigstore.json", KindAttestation, ""},
		{"unsafe title is replaced", ref(ArtifactTypeBundle, subject, KindAttestation, layer("../x.sigstore.json", ArtifactTypeBundle)), strings.Repeat("a", 64) + ".sigstore.json", KindAttestation, ""},
		{"another subject", ref(ArtifactTypeBundle, "sha256:"+strings.Repeat("f", 64), KindAttestation, b), "", "", errOtherReferrer.Error()},
		{"another artifact", ref("application/x", subject, KindAttestation, b), "", "", errOtherReferrer.Error()},
		{"unknown kind", ref(ArtifactTypeBundle, subject, "other", b), "", "", errOtherReferrer.Error()},
		{"two layers", ref(ArtifactTypeBundle, subject, KindAttestation, b+","+b), "", "", "2 layers"},
		{"layer type", ref(ArtifactTypeBundle, subject, KindAttestation, layer("x.sigstore.json", "application/json")), "", "", "layer mediaType"},
		{"not JSON", "[", "", "", "manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseBundleReferrer([]byte(tc.raw), subject)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil || r.title != tc.title || r.kind != tc.kind {
				t.Fatalf("got %+v, %v", r, err)
			}
		})
	}
}

func FuzzParseModelManifest(f *testing.F) {
	f.Add([]byte(validManifest(layer("model.safetensors", MediaTypeWeight) + "," + layer("sub/config.json", MediaTypeWeightConfig))))
	f.Add([]byte(validManifest(layer("a", MediaTypeWeight) + "," + layer("a/b", MediaTypeDoc))))
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, files, err := ParseModelManifest(raw)
		if err != nil {
			if !errors.Is(err, ErrNotModel) {
				t.Fatalf("error does not wrap ErrNotModel: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, f := range files {
			if seen[f.Name] || f.Name == "" || strings.HasPrefix(f.Name, "/") || strings.Contains("/"+f.Name+"/", "/../") {
				t.Fatalf("accepted file name %q", f.Name)
			}
			seen[f.Name] = true
			if len(f.SHA256()) != 64 || f.Size < 0 {
				t.Fatalf("accepted file %+v", f)
			}
		}
	})
}

func FuzzParseBundleReferrer(f *testing.F) {
	subject := "sha256:" + strings.Repeat("d", 64)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + ArtifactTypeBundle +
		`","layers":[` + layer("a.sigstore.json", ArtifactTypeBundle) + `],"subject":{"digest":"` + subject + `"}}`))
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + ArtifactTypeModelSignature +
		`","layers":[` + layer("model.sig.sigstore.json", ArtifactTypeBundle) + `],"subject":{"digest":"` + subject + `"},"annotations":{"dev.mlattest.kind":"model-signature"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ParseBundleReferrer(raw, subject)
		if err != nil {
			return
		}
		if !safeBundleName(r.title) || (r.kind != KindAttestation && r.kind != KindVSA && r.kind != KindModelSignature) || r.layer.MediaType != ArtifactTypeBundle {
			t.Fatalf("accepted %+v", r)
		}
	})
}
