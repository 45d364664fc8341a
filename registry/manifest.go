package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mlattest/mlattest/predicates"
)

// MaxManifestSize caps a manifest read from a registry.
const MaxManifestSize = 4 << 20

// MaxFiles caps the files of one model.
const MaxFiles = 100_000

// ErrNotModel: the manifest is not a ModelPack model mlattest can read.
var ErrNotModel = errors.New("not a ModelPack model manifest of raw file layers")

// File is one file of a model: its layer.
type File struct {
	// Name is the slash-separated path, from the title annotation.
	Name      string `json:"name"`
	Digest    string `json:"digest"` // sha256:HEX
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
}

// SHA256 is the file's hex SHA-256.
func (f File) SHA256() string { return strings.TrimPrefix(f.Digest, "sha256:") }

var rawTypes = map[types.MediaType]bool{
	MediaTypeWeight: true, MediaTypeWeightConfig: true, MediaTypeDoc: true, MediaTypeCode: true,
}

// ParseModelManifest reads a model manifest from untrusted bytes: an OCI
// image manifest with the ModelPack artifact and config types, whose
// layers are raw files named by clean, distinct relative paths (no file
// is also a directory of another) with sha256 digests. Anything else is an
// error wrapping ErrNotModel.
func ParseModelManifest(raw []byte) (*v1.Manifest, []File, error) {
	bad := func(format string, args ...any) (*v1.Manifest, []File, error) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotModel, fmt.Sprintf(format, args...))
	}
	if len(raw) > MaxManifestSize {
		return bad("manifest of %d bytes, over %d", len(raw), MaxManifestSize)
	}
	var m v1.Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return bad("%v", err)
	}
	if dec.More() {
		return bad("data after the manifest")
	}
	switch {
	case m.SchemaVersion != 2:
		return bad("schemaVersion %d", m.SchemaVersion)
	case m.MediaType != types.OCIManifestSchema1:
		return bad("mediaType %q", m.MediaType)
	case m.ArtifactType != ArtifactTypeModel:
		return bad("artifactType %q", m.ArtifactType)
	case m.Config.MediaType != MediaTypeModelConfig:
		return bad("config mediaType %q", m.Config.MediaType)
	case m.Config.Digest.Algorithm != "sha256":
		return bad("config digest %q", m.Config.Digest)
	case len(m.Layers) == 0:
		return bad("no layers")
	case len(m.Layers) > MaxFiles:
		return bad("%d layers, over %d", len(m.Layers), MaxFiles)
	}
	files := make([]File, 0, len(m.Layers))
	names := make(map[string]bool, len(m.Layers))
	for i, l := range m.Layers {
		title := l.Annotations[AnnotationTitle]
		switch {
		case !rawTypes[l.MediaType]:
			return bad("layer %d: mediaType %q is not a raw ModelPack file type", i, l.MediaType)
		case l.Digest.Algorithm != "sha256" || len(l.Digest.Hex) != 64:
			return bad("layer %d: digest %q is not sha256", i, l.Digest)
		case l.Size < 0:
			return bad("layer %d: size %d", i, l.Size)
		case title == "":
			return bad("layer %d: no %s annotation", i, AnnotationTitle)
		}
		if err := predicates.CheckPathName(title); err != nil {
			return bad("layer %d: %s %q: %v", i, AnnotationTitle, title, err)
		}
		if names[title] {
			return bad("layer %d: file %q twice", i, title)
		}
		names[title] = true
		files = append(files, File{Name: title, Digest: l.Digest.String(), Size: l.Size, MediaType: string(l.MediaType)})
	}
	// A name that is also the directory of another cannot be written.
	for n := range names {
		for d := path.Dir(n); d != "."; d = path.Dir(d) {
			if names[d] {
				return bad("%q is a file and the directory of %q", d, n)
			}
		}
	}
	return &m, files, nil
}

// modelConfig is the ModelPack config mlattest writes: the layers' digests
// as diffIds (raw layers are their own uncompressed form), nothing that
// changes from push to push, so the same files always make the same
// manifest digest.
type modelConfig struct {
	Descriptor struct {
		Name string `json:"name,omitempty"`
	} `json:"descriptor"`
	Config  struct{} `json:"config"`
	ModelFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diffIds"`
	} `json:"modelfs"`
}

// mediaTypeFor is the ModelPack layer type of a file, by its name.
func mediaTypeFor(name string) types.MediaType {
	base := strings.ToLower(path.Base(name))
	ext := path.Ext(base)
	switch ext {
	case ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".onnx", ".h5", ".keras", ".tflite",
		".msgpack", ".npz", ".npy", ".pkl", ".pickle", ".joblib", ".mlmodel", ".pb", ".params":
		return MediaTypeWeight
	case ".py", ".sh", ".ipynb", ".js", ".go", ".rs", ".c", ".cc", ".cpp", ".h":
		return MediaTypeCode
	case ".md", ".rst", ".pdf", ".html":
		return MediaTypeDoc
	}
	for _, p := range []string{"readme", "license", "licence", "notice", "copying", "model_card", "modelcard"} {
		if strings.HasPrefix(base, p) {
			return MediaTypeDoc
		}
	}
	// config.json, tokenizer files, vocabularies, generation configs.
	return MediaTypeWeightConfig
}
