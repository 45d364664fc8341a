// Package model decides whether model files are safe to load, without ever
// loading them: formats are detected by content, safetensors headers are
// validated rule by rule, and pickle streams are run through an opcode-level
// interpreter that only records what a real unpickler would import and call.
//
// A file is "safe" only when every part of it was understood and everything
// it would import is on an allow-list; anything unresolved is "unknown",
// known-dangerous callables are "malicious", format-rule violations are
// "invalid", and malformed or truncated streams are "error".
package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/internal/progress"
)

// Verdict is the answer for one file.
type Verdict string

// Verdicts, from best to worst (see Worse).
const (
	Safe      Verdict = "safe"
	Unknown   Verdict = "unknown"
	Invalid   Verdict = "invalid"
	Error     Verdict = "error"
	Malicious Verdict = "malicious"
)

var verdictRank = map[Verdict]int{Safe: 0, Unknown: 1, Invalid: 2, Error: 3, Malicious: 4}

// Worse returns the more severe of a and b.
func Worse(a, b Verdict) Verdict {
	if verdictRank[b] > verdictRank[a] {
		return b
	}
	return a
}

// Format names, as they appear in results and statements.
const (
	FormatSafetensors = "safetensors"
	FormatPyTorchZip  = "pytorch-zip"
	FormatPyTorchTar  = "pytorch-tar"
	FormatPyTorchLeg  = "pytorch-legacy"
	FormatPickle      = "pickle"
	FormatJoblib      = "joblib"
	FormatNPY         = "npy"
	FormatNPZ         = "npz"
	FormatZip         = "zip"
	FormatTar         = "tar"
	FormatGzip        = "gzip"
	FormatBzip2       = "bzip2"
	FormatXZ          = "xz"
	FormatZlib        = "zlib"
	FormatGGUF        = "gguf"
	FormatONNX        = "onnx"
	FormatKerasHDF5   = "keras-hdf5"
	FormatHDF5        = "hdf5"
	FormatKeras       = "keras"
	FormatUnknown     = "unknown"
)

// IsPickleFormat reports whether loading a file of this format runs a
// pickle stream (so `mlattest run` refuses it without --allow-pickle).
func IsPickleFormat(f string) bool {
	switch f {
	case FormatPyTorchZip, FormatPyTorchTar, FormatPyTorchLeg, FormatPickle, FormatJoblib:
		return true
	}
	return false
}

// PickleGated reports whether `mlattest run` refuses the file unless
// pickles are allowed: loading some part of it runs a pickle stream that
// can run code (its container's loader unpickles it, or it parses as a
// pickle that imports; a pickle of constants only loads as data), or its
// name promises a format its bytes are not (format-mismatch: the loader the
// name selects may read it as something else).
func (r Result) PickleGated() bool {
	if r.pickleCode {
		return true
	}
	for _, f := range r.Findings {
		if f.Rule == RuleFormatMismatch {
			return true
		}
	}
	return false
}

// RuleFormatMismatch is the finding of a file whose extension names one
// format and whose content is another.
const RuleFormatMismatch = "format-mismatch"

// extFormats maps the extensions whose loader is fixed to the formats that
// loader reads. Extensions shared by many loaders (.bin, .model, .dat) are
// not here: their content decides alone.
var extFormats = map[string][]string{
	".safetensors": {FormatSafetensors},
	".gguf":        {FormatGGUF},
	".onnx":        {FormatONNX},
	".npy":         {FormatNPY},
	".npz":         {FormatNPZ},
	".pkl":         {FormatPickle, FormatJoblib, FormatPyTorchLeg},
	".pickle":      {FormatPickle, FormatJoblib, FormatPyTorchLeg},
	".joblib":      {FormatJoblib, FormatPickle},
	".pt":          {FormatPyTorchZip, FormatPyTorchTar, FormatPyTorchLeg},
	".pth":         {FormatPyTorchZip, FormatPyTorchTar, FormatPyTorchLeg},
	".h5":          {FormatKerasHDF5, FormatHDF5},
	".hdf5":        {FormatKerasHDF5, FormatHDF5},
	".keras":       {FormatKeras},
}

// formatMismatch compares the content's format with the one the file's
// extension promises; compressed joblib and pickle files ("zlib/joblib")
// count by their inner format.
func formatMismatch(name, format string) (want []string, bad bool) {
	want, ok := extFormats[strings.ToLower(filepath.Ext(name))]
	if !ok {
		return nil, false
	}
	inner := format
	if i := strings.LastIndexByte(format, '/'); i >= 0 && slices.Contains([]string{FormatJoblib, FormatPickle}, format[i+1:]) {
		inner = format[i+1:]
	}
	return want, !slices.Contains(want, inner)
}

// Finding is one reason a file is not safe (or one fact worth recording).
type Finding struct {
	Rule     string  `json:"rule"`
	Severity Verdict `json:"severity"`
	// Member is the path inside a container ("archive/data.pkl"), nested
	// members joined with "!"; empty for the file itself.
	Member string `json:"member,omitempty"`
	// Offset is the byte offset of the opcode (pickle) or structure in the
	// member's decompressed stream; -1 when not applicable.
	Offset  int64  `json:"offset"`
	Message string `json:"message"`
}

// Result is the scan of one file.
type Result struct {
	Path     string    `json:"path"`
	SHA256   string    `json:"sha256,omitempty"`
	Size     int64     `json:"size"`
	Format   string    `json:"format"`
	Verdict  Verdict   `json:"verdict"`
	Findings []Finding `json:"findings"`
	// Pickle reports whether any part of the file is a pickle stream.
	Pickle bool `json:"pickle"`
	// pickleCode: loading a pickle in it runs code (see PickleGated).
	pickleCode bool
	// BytesRead counts the distinct bytes of the file the format scan read
	// (not the digest): a byte read twice counts once, so it is at most Size.
	BytesRead int64 `json:"bytesRead"`
}

// Limits bound the work one file may cause.
type Limits struct {
	MaxStack        int   // pickle stack + metastack items
	MaxMemo         int   // pickle memo entries
	MaxDecompressed int64 // bytes produced by one decompressor
	MaxDepth        int   // container nesting
	MaxMembers      int   // members of one archive
	MaxHeader       int64 // safetensors header bytes
	MaxBuffered     int64 // a nested zip that must be buffered to be read
	MaxFindings     int   // findings kept per file
}

// DefaultLimits are generous for real checkpoints and still bounded.
func DefaultLimits() Limits {
	return Limits{
		MaxStack:        1 << 20,
		MaxMemo:         1 << 20,
		MaxDecompressed: 16 << 30,
		MaxDepth:        4,
		MaxMembers:      1 << 16,
		MaxHeader:       100 << 20,
		MaxBuffered:     256 << 20,
		MaxFindings:     256,
	}
}

// Option configures a Scanner.
type Option func(*Scanner)

// WithDigest turns SHA-256 of each file on or off (on by default).
func WithDigest(on bool) Option { return func(s *Scanner) { s.digest = on } }

// WithWalk sets how ScanPaths walks directories: digest's ignore patterns
// and symlink policy (default: digest's defaults, so a scan and an
// attestation of a directory cover the same files).
func WithWalk(opts ...digest.Option) Option {
	return func(s *Scanner) { s.walk = append([]digest.Option(nil), opts...) }
}

// WithProgress draws a bar on w, when it is a terminal, while a large file
// is hashed.
func WithProgress(w io.Writer) Option { return func(s *Scanner) { s.progress = w } }

// WithLimits replaces the default limits.
func WithLimits(l Limits) Option { return func(s *Scanner) { s.limits = l } }

// Scanner scans model files. It holds no mutable state and is safe for
// concurrent use.
type Scanner struct {
	digest   bool
	limits   Limits
	progress io.Writer
	walk     []digest.Option
}

// New returns a Scanner.
func New(opts ...Option) *Scanner {
	s := &Scanner{digest: true, limits: DefaultLimits()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ErrUnreadable wraps failures to open or read a path (a usage-level error,
// unlike malformed content, which is a verdict).
var ErrUnreadable = errors.New("unreadable")

// unreadableError names the path and the cause, in the user's terms
// ("m.bin: no such file or directory"), and matches ErrUnreadable.
type unreadableError struct {
	path string
	err  error
}

func (e *unreadableError) Error() string {
	// A storage read's error names its object's URI already.
	if strings.Contains(e.path, "://") && strings.Contains(e.err.Error(), e.path) {
		return e.err.Error()
	}
	return e.path + ": " + e.err.Error()
}
func (e *unreadableError) Unwrap() []error { return []error{ErrUnreadable, e.err} }

func unreadable(path string, err error) error {
	return &unreadableError{path: path, err: fsutil.Cause(err)}
}

var errNotRegular = errors.New("not a regular file")

// ScanFile scans one regular file. Malformed content is reported in the
// Result; err is non-nil only when the file cannot be read.
func (s *Scanner) ScanFile(ctx context.Context, path string) (Result, error) {
	return s.scanFile(ctx, path, path, nil)
}

// scanFile scans the file at osPath under the name path (a walked link's
// name; its target is osPath). walked, when not nil, maps the names of the
// regular files of the directory walk that found it to their OS paths
// (what a shard index may name).
func (s *Scanner) scanFile(ctx context.Context, osPath, path string, walked map[string]string) (Result, error) {
	// Stat first: opening a FIFO would block.
	if fi, err := os.Stat(osPath); err != nil {
		return Result{}, unreadable(path, err)
	} else if !fi.Mode().IsRegular() {
		return Result{}, unreadable(path, errNotRegular)
	}
	f, err := os.Open(osPath)
	if err != nil {
		return Result{}, unreadable(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Result{}, unreadable(path, err)
	}
	if !fi.Mode().IsRegular() {
		return Result{}, unreadable(path, errNotRegular)
	}
	t := target{
		path: path, base: filepath.Base(path), scan: f, hash: f, size: fi.Size(),
		external: func(loc string) *Finding { return checkExternal(filepath.Dir(path), loc) },
		shard:    localShard(path, walked),
	}
	res, err := s.scanTarget(ctx, t)
	if err != nil {
		return Result{}, err
	}
	// The verdict and the digest must describe the same bytes.
	if after, err := f.Stat(); err != nil || after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		res.Findings = append(res.Findings, Finding{Rule: "changed-during-scan", Severity: Error, Offset: -1, Message: "the file changed while it was being scanned"})
		res.Verdict = Worse(res.Verdict, Error)
	}
	return res, nil
}

// target is one file to scan, local or not: what ScanFile and
// ScanListing share.
type target struct {
	path string // the name results and errors give it
	base string // its last element, the format hint
	// scan and hash are the bytes, read by the format scan and the digest;
	// they may be one reader (a local file's pread is safe for concurrent
	// use) or two (an object's reader is sequential per reader).
	scan, hash io.ReaderAt
	size       int64
	// external checks an ONNX external-data location of the file itself.
	external func(loc string) *Finding
	// shard opens a shard index's target, or says why it cannot.
	shard shardOpener
	// strict: a failed read of the scan is an error naming the file, not
	// an error verdict (an object that changed since its listing must stop
	// the scan, as a failed digest does).
	strict bool
}

// scanTarget hashes and scans t, then checks what it names outside
// itself (ONNX external data, a shard index's targets).
func (s *Scanner) scanTarget(ctx context.Context, t target) (Result, error) {
	// The digest is computed concurrently with the scan, each reading the
	// file with its own ReadAt calls: the file's time is the slower of the
	// two, not their sum.
	var (
		wg      sync.WaitGroup
		sum     string
		hashErr error
	)
	if s.digest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var bar *progress.Bar
			if t.size >= progress.MinTotal {
				bar = progress.New(s.progress, t.size, "hashing "+t.base)
			}
			defer bar.Finish()
			sum, hashErr = hashAt(ctx, t.hash, t.size, bar.Add)
		}()
	}
	ra := t.scan
	var re *readErrAt
	if t.strict {
		re = &readErrAt{r: ra}
		ra = re
	}
	res, sc := s.scanReaderAtState(ctx, ra, t.size, t.base)
	wg.Wait()
	if hashErr != nil {
		return Result{}, unreadable(t.path, hashErr)
	}
	if re != nil && re.err != nil {
		return Result{}, unreadable(t.path, re.err)
	}
	res.SHA256 = sum
	res.Path = t.path
	for _, e := range sc.externals {
		if e.member != "" {
			res.Findings = append(res.Findings, Finding{Rule: "onnx-external-unverified", Severity: Unknown, Member: e.member, Offset: -1,
				Message: fmt.Sprintf("external data %q of a model inside an archive cannot be checked on disk", e.location)})
			res.Verdict = Worse(res.Verdict, Unknown)
			continue
		}
		if f := t.external(e.location); f != nil {
			res.Findings = append(res.Findings, *f)
			res.Verdict = Worse(res.Verdict, f.Severity)
		}
	}
	if sc.index != nil {
		for _, f := range s.checkShards(ctx, t.path, sc.index, t.shard) {
			res.Findings = append(res.Findings, f)
			res.Verdict = Worse(res.Verdict, f.Severity)
		}
	}
	if res.Findings == nil {
		res.Findings = []Finding{}
	}
	return res, nil
}

// readErrAt keeps the first failed read of r (io.EOF at the end is not
// one), which a format scan would otherwise turn into a verdict.
type readErrAt struct {
	r   io.ReaderAt
	mu  sync.Mutex
	err error
}

func (e *readErrAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

// hashReadSize is the read size of the digest: large reads keep syscall
// overhead negligible next to SHA-256.
const hashReadSize = 1 << 20

// hashAt returns the hex SHA-256 of size bytes of ra, checking ctx between
// reads and telling add how many bytes each read hashed.
func hashAt(ctx context.Context, ra io.ReaderAt, size int64, add func(int64)) (string, error) {
	h := sha256.New()
	buf := make([]byte, hashReadSize)
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := ra.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		h.Write(buf[:n])
		add(int64(n))
		off += int64(n)
		if err != nil && !(err == io.EOF && off == size) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ScanReaderAt scans size bytes of ra. An I/O error while reading is an
// error verdict.
func (s *Scanner) ScanReaderAt(ctx context.Context, ra io.ReaderAt, size int64) Result {
	return s.scanReaderAt(ctx, ra, size, "")
}

// scanReaderAt scans with a file name, used only as a hint for which
// format's rules to report when the content matches none (never to
// decide that anything is safe).
func (s *Scanner) scanReaderAt(ctx context.Context, ra io.ReaderAt, size int64, name string) Result {
	res, _ := s.scanReaderAtState(ctx, ra, size, name)
	return res
}

func (s *Scanner) scanReaderAtState(ctx context.Context, ra io.ReaderAt, size int64, name string) (Result, *scan) {
	cr := &countingReaderAt{r: ra}
	sc := &scan{ctx: ctx, lim: s.limits, name: name}
	format := sc.scanAt(cr, size, "", 0)
	if want, bad := formatMismatch(name, format); bad {
		// Loaders pick a reader by the name: what a scanner reads as one
		// format, a loader may read as another.
		sc.add("", -1, Unknown, RuleFormatMismatch, "the name %s promises %s but the content is %s", name, strings.Join(want, " or "), format)
	}
	sc.companionMismatch(format)
	res := Result{Size: size, Format: format, Verdict: Safe, Findings: sc.findings, Pickle: sc.pickle, BytesRead: cr.n, pickleCode: sc.pickleCode}
	for _, f := range sc.findings {
		res.Verdict = Worse(res.Verdict, f.Severity)
	}
	return res, sc
}

// extRef is an ONNX external-data location and the member holding the
// model ("" for the file itself).
type extRef struct{ member, location string }

// checkExternal resolves an external-data location (already free of
// absolute paths and "..") against the model's directory: symlinks must
// not lead out of it, and the target must be a regular file.
func checkExternal(dir, loc string) *Finding {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return &Finding{Rule: "onnx-external-unverified", Severity: Unknown, Offset: -1, Message: fmt.Sprintf("model directory cannot be resolved: %v", err)}
	}
	target, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(loc, `\`, "/"))))
	if err != nil {
		return &Finding{Rule: "onnx-external-missing", Severity: Unknown, Offset: -1, Message: fmt.Sprintf("external data %q is not next to the model: %v", loc, err)}
	}
	if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return &Finding{Rule: "onnx-external-path", Severity: Malicious, Offset: -1, Message: fmt.Sprintf("external data %q resolves through a symlink to %s, outside the model directory", loc, target)}
	}
	if fi, err := os.Stat(target); err != nil || !fi.Mode().IsRegular() {
		return &Finding{Rule: "onnx-external-path", Severity: Malicious, Offset: -1, Message: fmt.Sprintf("external data %q is not a regular file", loc)}
	}
	return nil
}

// ScanPaths scans files and directories (in lexical order). Directories
// are walked with digest's walker and the walk options (WithWalk): the
// same files an attestation of the directory names, with the same ignore
// patterns and symlink policy. Links are confined to the working directory
// when the path lies below it (a Hugging Face cache snapshot links into its
// repository's blobs/), to the path itself otherwise; a followed link is
// scanned under its own name. A path that cannot be read or walked stops
// the scan with an error wrapping ErrUnreadable.
func (s *Scanner) ScanPaths(ctx context.Context, paths []string, each func(Result) error) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return unreadable(p, err)
		}
		if !fi.IsDir() {
			r, err := s.ScanFile(ctx, p)
			if err != nil {
				return err
			}
			if err := each(r); err != nil {
				return err
			}
			continue
		}
		files, err := walkDir(ctx, p, s.walk)
		if err != nil {
			return err
		}
		walked := make(map[string]string, len(files))
		for _, f := range files {
			walked[f.name] = f.osPath
		}
		for _, f := range files {
			r, err := s.scanFile(ctx, f.osPath, f.name, walked)
			if err != nil {
				return err
			}
			if err := each(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkedFile is a file found in a scanned directory: its name (the
// directory argument joined with its path below it) and the OS path to
// read.
type walkedFile struct{ name, osPath string }

// walkDir walks dir with digest's walker, rooted at the working directory
// when dir lies below it and at dir otherwise.
func walkDir(ctx context.Context, dir string, opts []digest.Option) ([]walkedFile, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, unreadable(dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, unreadable(dir, err)
	}
	root := abs
	if rel, err := filepath.Rel(cwd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		root = cwd
	}
	files, err := digest.Walk(ctx, root, []string{abs}, opts...)
	if err != nil {
		return nil, unreadable(dir, err)
	}
	prefix, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, unreadable(dir, err)
	}
	prefix = filepath.ToSlash(prefix)
	out := make([]walkedFile, 0, len(files))
	for _, f := range files {
		below := f.Name
		if prefix != "." {
			below = strings.TrimPrefix(f.Name, prefix+"/")
		}
		out = append(out, walkedFile{name: filepath.Join(dir, filepath.FromSlash(below)), osPath: f.Path})
	}
	return out, nil
}

// countingReaderAt counts the distinct bytes read so benchmarks and results
// can show that a header-only scan really read only the header. Formats
// re-read headers and nested members, so it keeps the ranges read, not a sum.
type countingReaderAt struct {
	r     io.ReaderAt
	spans []span // sorted, disjoint and non-adjacent
	n     int64  // bytes covered by spans
}

// span is a byte range [start, end).
type span struct{ start, end int64 }

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	if n > 0 {
		c.add(off, off+int64(n))
	}
	return n, err
}

// add merges [start, end) into the spans; reads are mostly sequential, so
// the common case merges into the last span.
func (c *countingReaderAt) add(start, end int64) {
	i := sort.Search(len(c.spans), func(i int) bool { return c.spans[i].end >= start })
	j := i
	for j < len(c.spans) && c.spans[j].start <= end {
		start, end = min(start, c.spans[j].start), max(end, c.spans[j].end)
		c.n -= c.spans[j].end - c.spans[j].start
		j++
	}
	c.spans = slices.Replace(c.spans, i, j, span{start, end})
	c.n += end - start
}

// scan is the per-file state: findings accumulate here.
type scan struct {
	ctx      context.Context
	lim      Limits
	findings []Finding
	pickle   bool
	// pickleCode: loading some part runs code: a pickle its loader reads
	// whatever it holds, or one that imports.
	pickleCode bool
	dropped    int
	// externals are ONNX external-data locations of the top-level file,
	// already lexically confined; ScanFile resolves them on disk.
	externals []extRef
	name      string // top-level file name (a hint only)
	// safeGlobals caches allow-listed imports (shared, never mutated:
	// BUILD and the like on a global are findings, not changes).
	safeGlobals map[importKey]*pval
	// index is the weight_map of a shard index; ScanFile checks its
	// targets on disk.
	index *shardIndex
}

func (sc *scan) add(member string, off int64, sev Verdict, rule, format string, args ...any) {
	if len(sc.findings) >= sc.lim.MaxFindings {
		sc.dropped++
		// Keep the verdict honest even when findings are capped.
		last := &sc.findings[len(sc.findings)-1]
		if last.Rule != "findings-truncated" {
			sc.findings = append(sc.findings, Finding{Rule: "findings-truncated", Severity: sev, Offset: -1, Message: "more findings were not recorded"})
		} else {
			last.Severity = Worse(last.Severity, sev)
		}
		return
	}
	sc.findings = append(sc.findings, Finding{Rule: rule, Severity: sev, Member: member, Offset: off, Message: fmt.Sprintf(format, args...)})
}

func joinMember(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "!" + name
}
