package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/mlattest/mlattest/scan/data"
	"github.com/mlattest/mlattest/store"
)

// A sharded dataset scan: worker i of N reads its byte range of every
// dataset (a JSONL file cut at line starts into N ranges; a file of another
// format whole, by the worker the size-balanced plan gives it to) and
// writes the summaries of its records as a part; merge feeds all of them,
// in the datasets' order, to the scan's first-pass step and runs the rest
// of the scan once (scan/data/shard.go).

// scanDataListing is the listing a dataset-scan part carries: the datasets
// as named and their sizes, under the scan's configuration. (Their bytes
// are checked at merge, range by range: workers may read copies.)
func scanDataListing(location string, ds []data.PartDataset) string {
	files := make([]store.Listed, len(ds))
	for k, d := range ds {
		files[k] = store.Listed{Name: d.Path, Size: d.Size}
	}
	return store.ListingDigest(location, files)
}

// shardDataset is a dataset as a worker of a sharded scan reads it: a
// local file, or an object of a storage location (named by its URI, as
// "scan data LOCATION" names it) read by ranged GETs.
type shardDataset struct {
	name string
	size int64
	ra   interface {
		io.ReaderAt
		io.Closer
	}
}

// openShardDatasets opens the datasets the FILE arguments name, in the
// order "scan data" scans them: a location stands for every object below
// it, in listing order.
func openShardDatasets(ctx context.Context, args []string) ([]shardDataset, error) {
	var ds []shardDataset
	for _, path := range args {
		if path == "" {
			return ds, errors.New("empty FILE")
		}
		if store.IsURL(path) {
			l, err := listStore(ctx, path, nil)
			if err != nil {
				return ds, err
			}
			for _, f := range l.Files {
				ds = append(ds, shardDataset{name: l.URI(f.Name), size: f.Size, ra: l.ReaderAt(ctx, f)})
			}
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return ds, err
		}
		ds = append(ds, shardDataset{name: path, ra: f})
		fi, err := f.Stat()
		if err != nil {
			return ds, err
		}
		if fi.IsDir() {
			return ds, fmt.Errorf("%s: is a directory", path)
		}
		ds[len(ds)-1].size = fi.Size()
	}
	return ds, nil
}

// scanDataShard scans this worker's ranges of the datasets and writes its
// part under partOut.
func scanDataShard(ctx context.Context, stderr io.Writer, args []string, partOut string, sh shardSpec, opts []data.Option) error {
	usage := func(err error) error { return withCode(exitUsage, fmt.Errorf("scan data: %w", err)) }
	pb, err := store.OpenParts(ctx, partOut, true)
	if err != nil {
		return usage(fmt.Errorf("--part-out: %w", err))
	}
	cfg := data.PartConfigOf(opts...)
	ds, err := openShardDatasets(ctx, args)
	defer func() {
		for _, d := range ds {
			d.ra.Close()
		}
	}()
	if err != nil {
		return usage(err)
	}
	p := &data.Part{Type: data.PartType, Location: data.ConfigLocation(cfg), Files: len(ds), Shard: sh.i, Shards: sh.n, Config: cfg}
	var whole []store.Listed // datasets read whole, for the plan
	var wholeIdx []int
	for k, d := range ds {
		format, err := data.DetectFileFormat(d.name, d.ra, cfg.Format)
		switch {
		case errors.Is(err, data.ErrUnknownFormat):
			return usage(fmt.Errorf("%s: cannot detect the format (use --format)", d.name))
		case errors.Is(err, data.ErrEmpty):
			return usage(fmt.Errorf("%s: file is empty: cannot detect the format", d.name))
		case err != nil:
			return usage(err)
		}
		p.Datasets = append(p.Datasets, data.PartDataset{Path: d.name, Size: d.size, Format: format})
		if format != data.FormatJSONL {
			whole = append(whole, store.Listed{Name: d.name, Size: d.size})
			wholeIdx = append(wholeIdx, k)
		}
	}
	p.Listing = scanDataListing(p.Location, p.Datasets)
	owner := map[int]int{} // dataset read whole -> its shard
	for s, idx := range store.Plan(whole, sh.n) {
		for _, j := range idx {
			owner[wholeIdx[j]] = s
		}
	}
	// The summaries go to a temporary file (about 1.7 times the bytes
	// read), not memory, then to the part store.
	recs, err := os.CreateTemp("", "mlattest-scan-part-*.records")
	if err != nil {
		return usage(err)
	}
	// Unlinked at once (as the scan's spill files are), a killed worker
	// leaves nothing behind; where an open file cannot be removed, it goes
	// at the end.
	if os.Remove(recs.Name()) != nil {
		defer os.Remove(recs.Name())
	}
	defer recs.Close()
	var at int64
	for k := range p.Datasets {
		d := &p.Datasets[k]
		if d.Format == data.FormatJSONL {
			bounds, err := data.SplitJSONL(ds[k].ra, d.Size, sh.n)
			if err != nil {
				return usage(fmt.Errorf("%s: %w", d.Path, err))
			}
			d.Start, d.End = bounds[sh.i], bounds[sh.i+1]
		} else {
			// Ranges follow shard order: empty at the start before the
			// owner, the whole file at it, empty at the end after it.
			switch o := owner[k]; {
			case sh.i == o:
				d.End = d.Size
			case sh.i > o:
				d.Start, d.End = d.Size, d.Size
			}
		}
		sec, err := data.ScanSection(ctx, d.Path, ds[k].ra, d.Format, d.Start, d.End, recs, opts...)
		if err != nil {
			return usage(err)
		}
		d.Records, d.Lines, d.Incomplete, d.RangeSHA256 = sec.Records, sec.Lines, sec.Incomplete, sec.SHA256
		d.Offset, d.Length, d.SHA256 = at, sec.Length, sec.DataSHA256
		at += sec.Length
	}
	if _, err := recs.Seek(0, io.SeekStart); err != nil {
		return usage(err)
	}
	b, err := p.Marshal()
	if err != nil {
		return usage(err)
	}
	// The records first: merge reads a part only once its header is there.
	name := store.PartName(sh.i, sh.n)
	if err := store.PutFrom(ctx, pb, data.RecordsName(name), recs, at); err != nil {
		return usage(err)
	}
	if err := store.Put(ctx, pb, name, b); err != nil {
		return usage(err)
	}
	n := 0
	for _, d := range p.Datasets {
		n += d.Records
	}
	fmt.Fprintf(stderr, "scan data: part %d of %d: %d records of %d datasets, listing %s -> %s%s\n",
		sh.i, sh.n, n, len(p.Datasets), p.Listing, pb.Location(), name)
	return nil
}

// isScanParts reports whether the part files are dataset-scan parts (the
// first one's type decides; merge then refuses any other).
func isScanParts(files []store.PartFile) bool {
	return len(files) > 0 && store.PartTypeOf(files[0].Data) == data.PartType
}

// mergeScanData merges dataset-scan parts and prints what "scan data"
// prints for the same datasets and options.
func mergeScanData(ctx context.Context, stdout, stderr io.Writer, b store.Bucket, files []store.PartFile, jsonOut bool) error {
	refuse := func(err error) error { return withCode(exitUsage, fmt.Errorf("merge %s: %w", b.Location(), err)) }
	parts := make([]*data.Part, len(files))
	infos := make([]store.PartInfo, len(files))
	for k, f := range files {
		p, err := data.ParsePart(f.Data)
		if err != nil {
			return refuse(fmt.Errorf("%s: %w", f.File, err))
		}
		if scanDataListing(p.Location, p.Datasets) != p.Listing {
			return refuse(fmt.Errorf("%w: foreign part %s: its datasets are not the listing %s it names", store.ErrPart, f.File, p.Listing))
		}
		parts[k] = p
		infos[k] = store.PartInfo{File: f.File, Type: p.Type, Location: p.Location, Listing: p.Listing, Files: p.Files, Shard: p.Shard, Shards: p.Shards}
	}
	order, err := store.CheckParts(infos, data.PartType)
	if err != nil {
		return refuse(err)
	}
	objs := map[string]store.Object{}
	if err := b.List(ctx, func(o store.Object) error { objs[o.Name] = o; return nil }); err != nil {
		return refuse(err)
	}
	ref := parts[order[0]]
	var results []*data.Result
	for k, d := range ref.Datasets {
		var secs []data.SectionSource
		at := int64(0)
		for _, j := range order {
			pd, file := parts[j].Datasets[k], files[j].File
			if pd.Format != d.Format || pd.Start != at {
				return refuse(fmt.Errorf("%w: %s: %s: bytes from %d as %s, but the parts before end at %d as %s", store.ErrPart, file, d.Path, pd.Start, pd.Format, at, d.Format))
			}
			at = pd.End
			src, err := sectionSource(ctx, b, objs, file, pd)
			if err != nil {
				return refuse(err)
			}
			secs = append(secs, src)
		}
		if at != d.Size {
			return refuse(fmt.Errorf("%w: %s: the parts read %d of its %d bytes", store.ErrPart, d.Path, at, d.Size))
		}
		open, size, err := openMergedDataset(ctx, d.Path)
		if err != nil {
			return refuse(fmt.Errorf("dataset %w", err))
		}
		if size != d.Size {
			return refuse(fmt.Errorf("%s changed since the workers read it (listing %s)", d.Path, ref.Listing))
		}
		res, err := data.Merge(ctx, d.Path, d.Format, open, secs, append(ref.Config.Options(), data.WithProgress(stderr))...)
		if err != nil {
			return refuse(err)
		}
		results = append(results, res)
	}
	return reportScanData(stdout, stderr, results, jsonOut)
}

// openMergedDataset is how merge reads a dataset a part names (for its
// digest and the lines findings quote; Merge checks the bytes against the
// ranges the workers read), and its size now: a local file, or one object
// by its URI.
func openMergedDataset(ctx context.Context, name string) (func() (io.ReadCloser, error), int64, error) {
	local := name
	if store.IsURL(name) {
		loc, err := store.ParseLocation(name)
		if err != nil {
			return nil, 0, err
		}
		local = loc.Prefix // a file:// object is its path
		if loc.Scheme != "file" {
			return openMergedObject(ctx, name)
		}
	}
	fi, err := os.Stat(local)
	if err != nil {
		return nil, 0, err
	}
	return func() (io.ReadCloser, error) { return os.Open(local) }, fi.Size(), nil
}

// openMergedObject is openMergedDataset of a stored object.
func openMergedObject(ctx context.Context, name string) (func() (io.ReadCloser, error), int64, error) {
	l, err := listStore(ctx, name, nil)
	if err != nil {
		return nil, 0, err
	}
	if len(l.Files) != 1 || l.URI(l.Files[0].Name) != name {
		return nil, 0, fmt.Errorf("%s: no longer one object (%d below it)", name, len(l.Files))
	}
	f := l.Files[0]
	return func() (io.ReadCloser, error) { return unreadableOnError{l.Open(ctx, f)}, nil }, f.Size, nil
}

// sectionSource reads a part's section of a dataset from its records file,
// checking it against the digest the part names.
func sectionSource(ctx context.Context, b store.Bucket, objs map[string]store.Object, file string, pd data.PartDataset) (data.SectionSource, error) {
	src := data.SectionSource{Name: file, Start: pd.Start, End: pd.End, SHA256: pd.RangeSHA256,
		Records: pd.Records, Lines: pd.Lines, Incomplete: pd.Incomplete}
	name := data.RecordsName(file[len(b.Location()):])
	o, ok := objs[name]
	if !ok {
		return src, fmt.Errorf("%w: %s: no records file %s%s", store.ErrPart, file, b.Location(), name)
	}
	if pd.Offset > o.Size || pd.Length > o.Size-pd.Offset {
		return src, fmt.Errorf("%w: %s: %s: section at %d+%d outside its %d-byte records file", store.ErrPart, file, pd.Path, pd.Offset, pd.Length, o.Size)
	}
	src.Open = func() (io.ReadCloser, error) {
		var rc io.ReadCloser = io.NopCloser(bytes.NewReader(nil))
		if pd.Length > 0 {
			var err error
			if rc, err = b.ReadRange(ctx, o, pd.Offset, pd.Length); err != nil {
				return nil, err
			}
		}
		return &checkedReader{rc: rc, h: sha256.New(), left: pd.Length, want: pd.SHA256, what: file + ": " + pd.Path}, nil
	}
	return src, nil
}

// checkedReader reads exactly left bytes whose SHA-256 must be want; a
// difference is an error in place of the end.
type checkedReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	left int64
	want string
	what string
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.rc.Read(p)
	c.h.Write(p[:n])
	c.left -= int64(n)
	if c.left < 0 || err == io.EOF && (c.left != 0 || hex.EncodeToString(c.h.Sum(nil)) != c.want) {
		return n, fmt.Errorf("%w: %s: the section's summaries are not those the part names", data.ErrPart, c.what)
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.rc.Close() }
