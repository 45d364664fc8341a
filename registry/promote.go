package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ArtifactTypeHistory is the promotion history index of a tag.
const ArtifactTypeHistory = "application/vnd.mlattest.promotion-history.v1+json"

// History annotations on each entry.
const (
	AnnotationAction = "dev.mlattest.action"
	AnnotationTime   = "dev.mlattest.time"
	AnnotationVSA    = "dev.mlattest.vsa"
)

// Actions recorded in a history.
const (
	ActionPromote  = "promote"
	ActionRollback = "rollback"
)

// MaxHistory caps the entries of a history read or written.
const MaxHistory = 1000

// ErrNoRollback: the history holds no earlier promotion to go back to.
var ErrNoRollback = errors.New("no earlier promotion to roll back to")

// Promotion is one entry of a tag's promotion history, oldest first. The
// history is kept in the registry beside the tag; it is only a list of
// candidates: rollback verifies its target again before moving the tag.
type Promotion struct {
	Action string    `json:"action"`
	Digest string    `json:"digest"`
	Time   time.Time `json:"time"`
	VSA    string    `json:"vsa,omitempty"` // the VSA referrer's digest
	Size   int64     `json:"-"`             // the manifest's size, for the index
}

// HistoryTag is the tag holding tag's promotion history: an OCI index of
// the promoted manifests (which also keeps them from garbage collection).
func HistoryTag(tag name.Tag) (name.Tag, error) {
	return name.NewTag(tag.Context().Name()+":mlattest-history-"+tag.TagStr(), name.StrictValidation)
}

// History reads tag's promotion history (empty when there is none).
func (c *Client) History(ctx context.Context, tag name.Tag) ([]Promotion, error) {
	ht, err := HistoryTag(tag)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", String(tag), err)
	}
	desc, err := remote.Get(ht, c.options(ctx)...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", String(tag), err)
	}
	h, err := ParseHistory(desc.Manifest)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", String(tag), err)
	}
	return h, nil
}

// ParseHistory reads a history index from untrusted bytes.
func ParseHistory(raw []byte) ([]Promotion, error) {
	if len(raw) > MaxManifestSize {
		return nil, fmt.Errorf("index of %d bytes, over %d", len(raw), MaxManifestSize)
	}
	var im v1.IndexManifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&im); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if dec.More() {
		return nil, errors.New("index: data after the index")
	}
	if im.MediaType != types.OCIImageIndex || im.ArtifactType != ArtifactTypeHistory {
		return nil, fmt.Errorf("not a promotion history (mediaType %q, artifactType %q)", im.MediaType, im.ArtifactType)
	}
	if len(im.Manifests) > MaxHistory {
		return nil, fmt.Errorf("%d entries, over %d", len(im.Manifests), MaxHistory)
	}
	out := make([]Promotion, 0, len(im.Manifests))
	for i, d := range im.Manifests {
		p := Promotion{Action: d.Annotations[AnnotationAction], Digest: d.Digest.String(), VSA: d.Annotations[AnnotationVSA], Size: d.Size}
		if d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64 {
			return nil, fmt.Errorf("entry %d: digest %q is not sha256", i, d.Digest)
		}
		if p.Action != ActionPromote && p.Action != ActionRollback {
			return nil, fmt.Errorf("entry %d: action %q", i, p.Action)
		}
		t, err := time.Parse(time.RFC3339, d.Annotations[AnnotationTime])
		if err != nil {
			return nil, fmt.Errorf("entry %d: time: %w", i, err)
		}
		p.Time = t
		out = append(out, p)
	}
	return out, nil
}

// rawIndex is a Taggable index.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// MoveTag points tag at the model m (which must already be verified by the
// caller) and records the move in tag's history: the history is written
// first, so a tag never names a digest the history lacks.
func (c *Client) MoveTag(ctx context.Context, m *Model, tag name.Tag, action, vsa string, now time.Time) ([]Promotion, error) {
	hist, err := c.History(ctx, tag)
	if err != nil {
		return nil, err
	}
	hist = append(hist, Promotion{Action: action, Digest: m.Digest(), Time: now.UTC().Truncate(time.Second), VSA: vsa, Size: int64(len(m.Manifest))})
	if len(hist) > MaxHistory {
		hist = hist[len(hist)-MaxHistory:]
	}
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, ArtifactType: ArtifactTypeHistory}
	for _, p := range hist {
		h, err := v1.NewHash(p.Digest)
		if err != nil {
			return nil, err
		}
		ann := map[string]string{AnnotationAction: p.Action, AnnotationTime: p.Time.Format(time.RFC3339)}
		if p.VSA != "" {
			ann[AnnotationVSA] = p.VSA
		}
		im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: p.Size, Annotations: ann})
	}
	raw, err := json.Marshal(im)
	if err != nil {
		return nil, err
	}
	ht, err := HistoryTag(tag)
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(c.options(ctx)...)
	if err != nil {
		return nil, err
	}
	if err := pusher.Put(ctx, ht, rawIndex(raw)); err != nil {
		return nil, fmt.Errorf("history of %s: %w", String(tag), err)
	}
	if err := pusher.Put(ctx, tag, &remote.Descriptor{Descriptor: m.Descriptor(), Manifest: m.Manifest}); err != nil {
		return nil, fmt.Errorf("tag %s: %w", String(tag), err)
	}
	return hist, nil
}

// RollbackTarget is the digest rollback moves tag back to: the promotion
// before the latest promotion of current (the digest the tag names now),
// skipping promotions of current itself.
func RollbackTarget(hist []Promotion, current string) (string, error) {
	last := len(hist)
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].Action == ActionPromote && hist[i].Digest == current {
			last = i
			break
		}
	}
	for i := last - 1; i >= 0; i-- {
		if hist[i].Action == ActionPromote && hist[i].Digest != current {
			return hist[i].Digest, nil
		}
	}
	return "", ErrNoRollback
}
