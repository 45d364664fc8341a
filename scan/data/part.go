package data

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mlattest/mlattest/internal/strictjson"
)

// PartType is the type of a dataset-scan part: what one worker of a
// sharded "scan data" read. The part file is this JSON header; the
// sections' summaries are in a records file beside it (RecordsName), each
// section named by its offset, length and SHA-256 there.
const PartType = "https://mlattest.dev/dataset-scan-part/v1"

// Part is one worker's dataset-scan part.
type Part struct {
	Type string `json:"type"`
	// Location names the scan: ConfigLocation of Config, so that parts of
	// scans with other options are foreign.
	Location string `json:"location"`
	// Listing is the digest of the datasets' listing (paths, sizes and
	// change marks) and Location, as every worker computed it.
	Listing  string        `json:"listing"`
	Files    int           `json:"files"`
	Shard    int           `json:"shard"`
	Shards   int           `json:"shards"`
	Config   PartConfig    `json:"config"`
	Datasets []PartDataset `json:"datasets"`
}

// PartConfig is the scan's configuration as workers and merge must share
// it.
type PartConfig struct {
	Format     Format  `json:"format,omitempty"`
	Mapping    Mapping `json:"mapping"`
	Thresholds Config  `json:"thresholds"`
}

// PartDataset is one dataset's section in a part: the dataset as listed,
// the byte range this worker read and where its summaries are.
type PartDataset struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Format Format `json:"format"`
	// Start and End are the bytes this worker read, RangeSHA256 their
	// digest: merge reads the dataset and checks it is what was read.
	Start       int64  `json:"start"`
	End         int64  `json:"end"`
	RangeSHA256 string `json:"rangeSha256"`
	Records     int    `json:"records"`
	Lines       int    `json:"lines"`
	Incomplete  string `json:"incomplete,omitempty"`
	// Offset, Length and SHA256 locate the section's summaries in the
	// records file.
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

// Options are the scan options the part was made with.
func (c PartConfig) Options() []Option {
	return []Option{WithConfig(c.Thresholds), WithFormat(c.Format), WithMapping(c.Mapping)}
}

// PartConfigOf is the part configuration of a scan with opts.
func PartConfigOf(opts ...Option) PartConfig {
	cfg := newConfig(opts)
	return PartConfig{Format: cfg.Format, Mapping: cfg.Mapping, Thresholds: cfg}
}

// ConfigLocation names a scan by its configuration: "dataset-scan:" and
// the SHA-256 of the configuration's JSON.
func ConfigLocation(c PartConfig) string {
	b, _ := json.Marshal(c) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return "dataset-scan:sha256:" + hex.EncodeToString(sum[:])
}

// RecordsName is the name of the records file of the part named partName.
func RecordsName(partName string) string {
	return strings.TrimSuffix(partName, ".json") + ".records"
}

// Marshal encodes the part; the bytes depend only on its content.
func (p *Part) Marshal() ([]byte, error) {
	return strictjson.Encode(p)
}

// ParsePart decodes a dataset-scan part strictly: unknown fields, trailing
// data, a wrong type, a location that is not its configuration's, or
// impossible numbers are ErrPart errors.
func ParsePart(b []byte) (*Part, error) {
	var p Part
	if err := strictjson.Decode(b, &p, "part"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPart, err)
	}
	switch {
	case p.Type != PartType:
		return nil, fmt.Errorf("%w: type %q, want %q", ErrPart, p.Type, PartType)
	case p.Shards < 1 || p.Shard < 0 || p.Shard >= p.Shards:
		return nil, fmt.Errorf("%w: shard %d of %d", ErrPart, p.Shard, p.Shards)
	case p.Files != len(p.Datasets) || p.Files == 0:
		return nil, fmt.Errorf("%w: %d datasets of a %d-dataset listing", ErrPart, len(p.Datasets), p.Files)
	case !isDigest(strings.TrimPrefix(p.Listing, "sha256:")) || !strings.HasPrefix(p.Listing, "sha256:"):
		return nil, fmt.Errorf("%w: listing digest %q", ErrPart, p.Listing)
	case p.Location != ConfigLocation(p.Config):
		return nil, fmt.Errorf("%w: location %q is not its configuration's", ErrPart, p.Location)
	}
	switch p.Config.Format {
	case "", FormatJSONL, FormatJSON, FormatCSV, FormatParquet:
	default:
		return nil, fmt.Errorf("%w: format %q", ErrPart, p.Config.Format)
	}
	for k, d := range p.Datasets {
		switch {
		case d.Path == "":
			return nil, fmt.Errorf("%w: dataset %d has no path", ErrPart, k)
		case d.Format != FormatJSONL && d.Format != FormatJSON && d.Format != FormatCSV && d.Format != FormatParquet:
			return nil, fmt.Errorf("%w: %s: format %q", ErrPart, d.Path, d.Format)
		case d.Start < 0 || d.End < d.Start || d.Size < d.End || d.Format != FormatJSONL && d.Start != 0 && d.Start != d.End:
			return nil, fmt.Errorf("%w: %s: bytes %d to %d of %d", ErrPart, d.Path, d.Start, d.End, d.Size)
		case d.Records < 0 || d.Lines < 0 || d.Offset < 0 || d.Length < 0 || d.Records > int(d.End-d.Start)+1:
			return nil, fmt.Errorf("%w: %s: impossible counts", ErrPart, d.Path)
		case !isDigest(d.SHA256) || !isDigest(d.RangeSHA256):
			return nil, fmt.Errorf("%w: %s: section digests %q, %q", ErrPart, d.Path, d.SHA256, d.RangeSHA256)
		}
	}
	return &p, nil
}

func isDigest(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
