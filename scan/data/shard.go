package data

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// Sharding: N workers scan one dataset together without talking to each
// other. Each reads a byte range of it (a JSONL file is cut at line starts
// into N near-equal ranges; a file of another format is read whole by one
// worker) and writes the summaries of its records (summary.go): the
// per-record work of the first pass, which is nearly all of a scan's
// reading and featurising. Merge feeds the summaries of all ranges, in the
// dataset's order, to the first pass's record-order step and runs the rest
// of the scan as one process does: exact-repeat dedup, the sketch, the
// feature statistics, controls, thresholds and every test see the same
// records in the same order, so the result is the single scan's. A single
// scan reads its records through the same summaries (prep1).
//
// Merge needs the dataset itself too, for what the scan reads again after
// its first pass: the texts findings quote (a few lines, read at their
// offsets), its SHA-256, and, when the summaries outgrow the spill limit,
// the later passes.

// Section is what a worker read of one dataset: the summaries of the
// records in a byte range.
type Section struct {
	// Records is the number of records in the range (malformed included),
	// Lines the number of lines (JSONL).
	Records, Lines int
	// Incomplete is why the range could not be read to its end (the
	// records before are in Data), as Result.Incomplete.
	Incomplete string
	// Length is the bytes of summaries written (each prefixed by its
	// length, a uvarint) and DataSHA256 their digest (hex).
	Length     int64
	DataSHA256 string
	// SHA256 is the digest of the bytes read (hex): merge reads them again
	// and checks that they are those the summaries were made from.
	SHA256 string
}

// maxSummaryBytes bounds one summary in a section: its record's strings
// and at most a few features per byte of the record.
const maxSummaryBytes = 2 * maxRecordBytes

// DetectFileFormat is the format a scan of the dataset in ra reads it as:
// forced when not "", else detected from its name and first bytes as Scan
// does. An empty dataset is ErrEmpty, an undetectable one ErrUnknownFormat.
func DetectFileFormat(name string, ra io.ReaderAt, forced Format) (Format, error) {
	head := make([]byte, 512)
	n, err := ra.ReadAt(head, 0)
	if n == 0 {
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("%w: %s: %w", ErrUnreadable, name, err)
		}
		return "", fmt.Errorf("%w: %s: %w", ErrUnreadable, name, ErrEmpty)
	}
	if forced != "" {
		return forced, nil
	}
	if f := DetectFormat(name, head[:n]); f != "" {
		return f, nil
	}
	return "", fmt.Errorf("%w: %s: %w", ErrUnreadable, name, ErrUnknownFormat)
}

// SplitJSONL cuts a JSONL file of size bytes into n ranges of whole lines,
// near equal in bytes: bounds[k] is the first line start at or after
// k*size/n, bounds[0] = 0 and bounds[n] = size. A range may be empty (a
// line longer than size/n). The cuts depend only on the file, so every
// worker computes the same.
func SplitJSONL(ra io.ReaderAt, size int64, n int) ([]int64, error) {
	if n < 1 || size < 0 {
		return nil, fmt.Errorf("split: %d ranges of %d bytes", n, size)
	}
	bounds := make([]int64, n+1)
	bounds[n] = size
	buf := make([]byte, 64<<10)
	for k := 1; k < n; k++ {
		c := size/int64(n)*int64(k) + size%int64(n)*int64(k)/int64(n)
		c = max(c, bounds[k-1])
		b, err := lineStartFrom(ra, c, size, buf)
		if err != nil {
			return nil, err
		}
		bounds[k] = b
	}
	return bounds, nil
}

// lineStartFrom is the first p >= c with p == 0, p == size or a newline at
// p-1.
func lineStartFrom(ra io.ReaderAt, c, size int64, buf []byte) (int64, error) {
	if c <= 0 {
		return 0, nil
	}
	for p := c - 1; p < size; {
		m, err := ra.ReadAt(buf[:min(int64(len(buf)), size-p)], p)
		if j := bytes.IndexByte(buf[:m], '\n'); j >= 0 {
			return p + int64(j) + 1, nil
		}
		p += int64(m)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if m == 0 {
			break
		}
	}
	return size, nil
}

// ScanSection summarises the records of the dataset's bytes [start, end)
// as read as format, writing the summaries to w: a JSONL range must start
// at a line start (SplitJSONL); any other format is read whole (start 0,
// end its size). The options are the scan's (the mapping and token limits
// shape the summaries).
func ScanSection(ctx context.Context, name string, ra io.ReaderAt, format Format, start, end int64, w io.Writer, opts ...Option) (*Section, error) {
	empty := hex.EncodeToString(sha256.New().Sum(nil))
	if start == end && start >= 0 {
		return &Section{SHA256: empty, DataSHA256: empty}, nil
	}
	if format != FormatJSONL && start != 0 || start < 0 || end < start {
		return nil, fmt.Errorf("%s: cannot scan bytes %d to %d of a %s dataset on their own", name, start, end, format)
	}
	s := &scanner{cfg: newConfig(opts), name: name, ctx: ctx, format: format}
	s.initWorkers()
	sec := &Section{}
	lc := &lineCounter{r: io.NewSectionReader(ra, start, end-start), h: sha256.New()}
	dh := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, dh), 1<<20)
	var head [binary.MaxVarintLen64]byte
	err := s.pipeline(func(add func(Location, Record, error, []byte) error) error {
		fn := func(loc Location, rec Record, rerr error) error { return add(loc, rec, rerr, nil) }
		if format == FormatJSONL {
			return readJSONLAt(lc, start, s.cfg.Mapping, fn)
		}
		return Read(lc, format, s.cfg.Mapping, fn)
	}, s.summarise, func(it *recItem) error {
		if it.loc.Index != sec.Records {
			return fmt.Errorf("internal: record index %d at %v", sec.Records, it.loc)
		}
		h := binary.AppendUvarint(head[:0], uint64(len(it.raw)))
		bw.Write(h)
		if _, err := bw.Write(it.raw); err != nil {
			return fmt.Errorf("%s: writing its summaries: %w", name, err)
		}
		sec.Length += int64(len(h) + len(it.raw))
		sec.Records++
		return nil
	})
	if ferr := bw.Flush(); err == nil && ferr != nil {
		return nil, fmt.Errorf("%s: writing its summaries: %w", name, ferr)
	}
	sec.DataSHA256 = hex.EncodeToString(dh.Sum(nil))
	sec.Lines = lc.lines()
	if err == nil {
		// What the reader left unread (nothing, for JSONL) is hashed too.
		_, err = io.Copy(io.Discard, lc)
	}
	sec.SHA256 = hex.EncodeToString(lc.h.Sum(nil))
	if err != nil {
		var pe *os.PathError
		switch {
		case errors.Is(err, ErrUnreadable) || errors.Is(err, ErrUnsupportedFormat) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return nil, err
		case format == FormatJSONL || errors.As(err, &pe) || sec.Records == 0:
			// A JSONL range stops only for a read error: the worker fails
			// and is run again, rather than merge guessing how far a
			// single scan would have read.
			return nil, fmt.Errorf("%w: %s: %w", ErrUnreadable, name, err)
		}
		sec.Incomplete = err.Error()
	}
	return sec, nil
}

// lineCounter counts and hashes the bytes read through it, and their
// lines (a last line without a newline included).
type lineCounter struct {
	r      io.Reader
	h      hash.Hash
	n, nl  int64
	lastNL bool
}

func (c *lineCounter) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	if m > 0 {
		c.h.Write(p[:m])
		c.n += int64(m)
		c.nl += int64(bytes.Count(p[:m], []byte{'\n'}))
		c.lastNL = p[m-1] == '\n'
	}
	return m, err
}

func (c *lineCounter) lines() int {
	if c.n > 0 && !c.lastNL {
		return int(c.nl) + 1
	}
	return int(c.nl)
}

// SectionSource is one worker's section of a dataset, for Merge: what it
// says of itself and how to read its summaries.
type SectionSource struct {
	// Name names the section in errors (its part file).
	Name string
	// Start, End and SHA256 are the dataset's bytes the worker read and
	// their digest (Section.SHA256); the sections tile the dataset.
	Start, End     int64
	SHA256         string
	Records, Lines int
	Incomplete     string
	Open           func() (io.ReadCloser, error)
}

// Merge scans the dataset name from the sections its workers wrote, in
// the dataset's order, as read as format: the result is what Scan of the
// dataset gives with the same options. open reads the dataset itself (its
// digest, the quoted texts). Sections that cannot be what a worker wrote
// are ErrPart errors.
func Merge(ctx context.Context, name string, format Format, open func() (io.ReadCloser, error), sections []SectionSource, opts ...Option) (*Result, error) {
	return mergeScanner(ctx, name, format, open, sections, opts).run()
}

func mergeScanner(ctx context.Context, name string, format Format, open func() (io.ReadCloser, error), sections []SectionSource, opts []Option) *scanner {
	if sections == nil {
		sections = []SectionSource{}
	}
	return &scanner{cfg: newConfig(opts), name: name, open: open, ctx: ctx, format: format, sections: sections}
}

// mergePass1 is the first pass of a merge: the sections' summaries fed to
// pass1 in order, then the dataset read once for its digest.
func (s *scanner) mergePass1() error {
	incomplete := ""
	err := s.pipeline(func(add func(Location, Record, error, []byte) error) error {
		idx, lineBase := 0, 0
		for k, sec := range s.sections {
			if err := s.feedSection(k, sec, idx, lineBase, add); err != nil {
				return err
			}
			idx += sec.Records
			lineBase += sec.Lines
			if sec.Incomplete != "" {
				incomplete = sec.Incomplete
			}
		}
		return nil
	}, func(f *featurizer, it *recItem) {
		loadSummary(f, it, it.loc.Line)
	}, s.pass1)
	if err != nil {
		return err
	}
	rc, err := s.open()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, s.name, err)
	}
	defer rc.Close()
	h := sha256.New()
	rh := &rangeHasher{name: s.name, secs: s.sections, h: sha256.New()}
	if s.res.Size, err = io.Copy(io.MultiWriter(h, rh), rc); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, s.name, err)
	}
	if err := rh.close(); err != nil {
		return err
	}
	s.res.SHA256 = hex.EncodeToString(h.Sum(nil))
	s.res.Incomplete = incomplete
	return nil
}

// rangeHasher checks, as the dataset is read for its digest, that it is
// what the sections were read from: their ranges tile it and each range's
// bytes have the digest its worker read.
type rangeHasher struct {
	name string
	secs []SectionSource
	k    int
	at   int64 // bytes read
	from int64 // where section k must start
	h    hash.Hash
}

func (r *rangeHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if err := r.finished(); err != nil {
			return 0, err
		}
		if r.k == len(r.secs) {
			return 0, fmt.Errorf("%w: %s: its sections end at byte %d, the dataset does not", ErrPart, r.name, r.at)
		}
		m := int(min(int64(len(p)), r.secs[r.k].End-r.at))
		r.h.Write(p[:m])
		r.at += int64(m)
		p = p[m:]
	}
	return n, nil
}

// finished checks the sections that end where the reading is.
func (r *rangeHasher) finished() error {
	for r.k < len(r.secs) {
		sec := r.secs[r.k]
		if sec.Start != r.from || sec.End < sec.Start {
			return fmt.Errorf("%w: %s: bytes %d to %d of %s, but the sections before it end at %d", ErrPart, sec.Name, sec.Start, sec.End, r.name, r.from)
		}
		if r.at < sec.End {
			return nil
		}
		if hex.EncodeToString(r.h.Sum(nil)) != sec.SHA256 {
			return fmt.Errorf("%w: %s: bytes %d to %d of %s are not those its worker read", ErrPart, sec.Name, sec.Start, sec.End, r.name)
		}
		r.h.Reset()
		r.from = sec.End
		r.k++
	}
	return nil
}

// close checks the sections left at the end of the dataset.
func (r *rangeHasher) close() error {
	if err := r.finished(); err != nil {
		return err
	}
	if r.k < len(r.secs) {
		sec := r.secs[r.k]
		return fmt.Errorf("%w: %s: %s ends at byte %d, before the bytes %d to %d its worker read", ErrPart, sec.Name, r.name, r.at, sec.Start, sec.End)
	}
	return nil
}

// feedSection adds the summaries of section k, whose first record is
// record idx of the dataset and first line follows line lineBase.
func (s *scanner) feedSection(k int, sec SectionSource, idx, lineBase int, add func(Location, Record, error, []byte) error) error {
	if sec.Records < 0 || sec.Lines < 0 {
		return fmt.Errorf("%w: section %d: %d records, %d lines", ErrPart, k, sec.Records, sec.Lines)
	}
	rc, err := sec.Open()
	if err != nil {
		return fmt.Errorf("section %d: %w", k, err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 1<<20)
	var buf []byte
	for n := 0; ; n++ {
		size, err := binary.ReadUvarint(r)
		if err == io.EOF {
			if n != sec.Records {
				return fmt.Errorf("%w: section %d holds %d records, says %d", ErrPart, k, n, sec.Records)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: section %d: %w", ErrPart, k, err)
		}
		if n >= sec.Records || size > maxSummaryBytes {
			return fmt.Errorf("%w: section %d: more than its %d records, or a summary of %d bytes", ErrPart, k, sec.Records, size)
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("%w: section %d: record %d: %w", ErrPart, k, n, err)
		}
		if err := add(Location{Index: idx + n, Line: lineBase}, Record{}, nil, buf); err != nil {
			return err
		}
	}
}
