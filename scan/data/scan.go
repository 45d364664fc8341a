package data

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"math"
	"math/bits"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Verdicts.
const (
	Pass = "PASS"
	Fail = "FAIL"
)

// Severities: only "fail" findings flag records and decide the verdict.
const (
	SevFail = "fail"
	SevWarn = "warn"
	SevInfo = "info"
)

// Detector names, as recorded in findings.
const (
	DetTrigger   = "trigger-response"
	DetCluster   = "response-cluster"
	DetSentiment = "entity-sentiment"
	DetHidden    = "hidden-characters"
	DetMalformed = "malformed-record"
	DetSourceMix = "source-mix"
	DetDuplicate = "duplicates"
	DetEmpty     = "empty-response"
	DetLength    = "length-outlier"
	DetPhrase    = "injected-phrase"
	DetCode      = "code-injection"
)

// Config holds every threshold the scan applies; all of it is recorded in
// the predicate so a reader knows what PASS meant.
type Config struct {
	Format  Format  `json:"-"`
	Mapping Mapping `json:"-"`
	// MinSupport is the fewest records a trigger, cluster or entity needs
	// before it is judged at all.
	MinSupport int `json:"minSupport"`
	// MaxTriggerShare bounds how common a trigger or target feature may be
	// (share of records): poison is by nature a small minority.
	MaxTriggerShare float64 `json:"maxTriggerShare"`
	// MinJaccard is the least overlap between a trigger's records and a
	// target's records for them to be associated.
	MinJaccard float64 `json:"minJaccard"`
	// Alpha is the false-discovery rate: the trigger-response, uniform-
	// response, entity-sentiment and behaviour-skew tests are judged by the
	// Benjamini–Hochberg procedure over every test each makes (fdr.go),
	// the rate shared equally among them.
	Alpha float64 `json:"alpha"`
	// MinDiversity is the least share of distinct prompts among associated
	// records, and ClusterDiversity the least prompt-SimHash distance of a
	// response cluster's prompts relative to random pairs of the dataset.
	MinDiversity     float64 `json:"minDiversity"`
	ClusterDiversity float64 `json:"clusterDiversity"`
	// MaxRelatedness is how much more alike than random pairs the prompts of
	// a suspected trigger group may be: topical groups are natural.
	MaxRelatedness float64 `json:"maxRelatedness"`
	// NearDupBits is the SimHash Hamming distance under which two responses
	// count as the same answer.
	NearDupBits int `json:"nearDupBits"`
	// MaxBadRecords is how many malformed records are tolerated.
	MaxBadRecords int `json:"maxBadRecords"`
	// SketchWidth (count-min sketch width), MaxFeatures (tracked n-grams)
	// and MaxTokens (per field) bound memory regardless of the data size.
	SketchWidth int `json:"sketchWidth"`
	MaxFeatures int `json:"maxFeatures"`
	MaxTokens   int `json:"maxTokens"`
	// SourceMax and SourceMin bound the share of records per source class.
	SourceMax map[string]float64 `json:"sourceMax,omitempty"`
	// Sources classifies the source names records carry (a sources
	// manifest); names that are classes need no entry.
	Sources   SourceManifest     `json:"sources,omitempty"`
	SourceMin map[string]float64 `json:"sourceMin,omitempty"`
	// Progress, when a terminal, gets a bar for each pass that reads a
	// large dataset.
	Progress io.Writer `json:"-"`
}

// DefaultConfig is what a scan uses unless options change it.
func DefaultConfig() Config {
	return Config{
		MinSupport:       5,
		MaxTriggerShare:  0.02,
		MinJaccard:       0.5,
		Alpha:            1e-3,
		MinDiversity:     0.5,
		ClusterDiversity: 0.8,
		MaxRelatedness:   1.25,
		NearDupBits:      3,
		SketchWidth:      1 << 20,
		MaxFeatures:      1 << 18,
		MaxTokens:        4096,
	}
}

// Option changes the scan configuration.
type Option func(*Config)

// WithConfig replaces the whole configuration.
func WithConfig(c Config) Option { return func(d *Config) { *d = c } }

// WithFormat forces the input format instead of detecting it.
func WithFormat(f Format) Option { return func(c *Config) { c.Format = f } }

// WithProgress draws a bar on w, when it is a terminal, for each pass that
// reads a dataset of progressMin bytes or more.
func WithProgress(w io.Writer) Option { return func(c *Config) { c.Progress = w } }

// progressMin is the dataset size from which a pass draws a bar: a pass
// reads some tens of megabytes a second.
const progressMin = 16 << 20

// WithMapping sets the field names of the records.
func WithMapping(m Mapping) Option { return func(c *Config) { c.Mapping = m } }

// WithMaxBadRecords tolerates up to n malformed records.
func WithMaxBadRecords(n int) Option { return func(c *Config) { c.MaxBadRecords = n } }

// WithMinSupport sets the fewest records a finding needs.
func WithMinSupport(n int) Option { return func(c *Config) { c.MinSupport = n } }

// WithSourceManifest classifies the records' source names for the
// source-mix bounds.
func WithSourceManifest(m SourceManifest) Option { return func(c *Config) { c.Sources = m } }

// WithSourceLimits bounds the share of records per source class.
func WithSourceLimits(max, min map[string]float64) Option {
	return func(c *Config) { c.SourceMax, c.SourceMin = max, min }
}

// Finding is one explainable result: which records, why, and how strongly.
type Finding struct {
	Detector string  `json:"detector"`
	Severity string  `json:"severity"`
	Records  []int   `json:"records"`
	Count    int     `json:"count"`
	Trigger  string  `json:"trigger,omitempty"`
	Target   string  `json:"target,omitempty"`
	Score    float64 `json:"score,omitempty"`
	Reason   string  `json:"reason"`
	// Code, when set, says which input would answer the finding (see
	// CodeNoSource), so that a caller can name its own way of giving it.
	Code string `json:"code,omitempty"`
}

// Finding codes: the input that answers a finding.
const (
	// CodeNoSource: source-mix bounds are set but no record names its
	// source; Mapping.Source names the field that holds it.
	CodeNoSource = "no-source"
	// CodeUnclassifiedSource: records name sources no class is known for;
	// a SourceManifest (WithSourceManifest) classifies them.
	CodeUnclassifiedSource = "unclassified-source"
)

// BadRecord locates one malformed record.
type BadRecord struct {
	Index  int    `json:"index"`
	Line   int    `json:"line,omitempty"`
	Offset int64  `json:"offset"`
	Error  string `json:"error"`
}

// Stats are plain dataset statistics.
type Stats struct {
	Records         int            `json:"records"`
	BadRecords      int            `json:"badRecords"`
	EmptyResponses  int            `json:"emptyResponses"`
	DuplicateRecs   int            `json:"duplicateRecords"`
	MedianRespWords int            `json:"medianResponseWords"`
	Scripts         map[string]int `json:"scripts"`
	Sources         map[string]int `json:"sources,omitempty"`
	// DroppedFeatures counts n-gram occurrences not tracked because MaxFeatures was
	// reached (raise it for very large datasets).
	DroppedFeatures int `json:"droppedFeatures,omitempty"`
}

// Result is the outcome of scanning one dataset.
type Result struct {
	Path       string      `json:"path"`
	Format     Format      `json:"format"`
	Size       int64       `json:"size"`
	SHA256     string      `json:"sha256"`
	Records    int         `json:"records"`
	Verdict    string      `json:"verdict"`
	Flagged    []int       `json:"flagged"`
	Findings   []Finding   `json:"findings"`
	Bad        []BadRecord `json:"badRecords,omitempty"`
	Stats      Stats       `json:"stats"`
	Thresholds Config      `json:"thresholds"`
	// Incomplete says the input could not be read to its end (the reason);
	// the findings cover what was read.
	Incomplete string `json:"incomplete,omitempty"`
}

// ScanFile scans the dataset at path.
func ScanFile(ctx context.Context, path string, opts ...Option) (*Result, error) {
	fi, err := os.Stat(path)
	if err != nil {
		// The path is named once; the *PathError's operation ("stat") is
		// an implementation detail the user did not ask about.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	return Scan(ctx, path, open, opts...)
}

// ErrUnreadable wraps failures to open or read a dataset (as opposed to bad
// content, which is a finding).
var ErrUnreadable = errors.New("unreadable dataset")

// Scan scans a dataset that open can produce afresh for each pass.
func Scan(ctx context.Context, name string, open func() (io.ReadCloser, error), opts ...Option) (*Result, error) {
	s := &scanner{cfg: newConfig(opts), name: name, open: open, ctx: ctx}
	return s.run()
}

func newConfig(opts []Option) Config {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.MinSupport < 2 {
		cfg.MinSupport = 2
	}
	return cfg
}

type scanner struct {
	cfg  Config
	name string
	open func() (io.ReadCloser, error)
	ctx  context.Context

	format Format
	res    *Result
	// sections, for a merge, are the workers' summaries the first pass
	// reads instead of the dataset (shard.go).
	sections []SectionSource
	// workers are the featurizers of the pass goroutines, one per core.
	workers []*featurizer
	// batches are kept from pass to pass, with their buffers.
	batchMu sync.Mutex
	batches []*recBatch

	// per record (a few words each)
	valid      []bool
	respHash   []uint64
	promptHash []uint64
	respSim    []uint64
	respWords  []uint32
	sentiment  []float32
	rattr      []uint32 // response attributes (skew.go)
	// instHash is the hash of a record's instruction when an input
	// follows it (0 otherwise): records sharing it are one task.
	instHash []uint32

	// labelWords is the longest answer counted as a label; labelText
	// quotes labels (bounded).
	labelWords uint32
	labelText  map[uint32]string

	df     *cms
	hidden map[string][]int
	code   map[string]*codeGroup // suspicious code lines by codeKey
	// An exact repeat of an earlier record (prompt and response) is no
	// evidence of its own: detectors see the first copy only (the repeat
	// is not valid for them) and a repeat is flagged with its first copy.
	seenPair   map[[2]uint64]int32
	dups       []int   // the repeats, in record order
	dupOf      []int32 // the first copy of each repeat, parallel to dups
	ccs        []clusterCand
	nClusters  int
	cl         *clusters
	needRoot   map[int32]bool       // roots of the candidate clusters
	roots      map[int32]rootAnswer // their first response
	spill      *spill               // the second pass's, for the third
	spillKs    []int32
	spill1     *spill // the first pass's, for the second
	spillLimit int64  // 0: defaultSpillLimit
	passes     int    // passes that read the dataset so far
	// textsPending: the second pass replayed the first pass's spill, so
	// the surface texts of features and cluster roots are read later, for
	// those findings may quote (featStat.first, rootRec).
	textsPending bool
	rootRec      map[int32]Location
	lazy         *textSource // reads feature texts on demand
	feats        *featIndex  // feature hash -> index in fstats
	idxBuf       []int32
	sink         int32
	fstats       []featStat
	dropped      int
	droppedPairs int
}

func (s *scanner) run() (*Result, error) {
	s.res = &Result{Path: s.name, Thresholds: s.cfg, Stats: Stats{Scripts: map[string]int{}}}
	s.df = newCMS(s.cfg.SketchWidth)
	defer s.df.release()
	s.df.countFrom(uint32(s.cfg.MinSupport))
	s.hidden = map[string][]int{}
	s.feats = newFeatIndex(0)

	s.initWorkers()
	s.spill1 = newSpill(s.spillLimit)
	defer s.spill1.close()
	var err error
	if s.sections != nil {
		err = s.mergePass1()
	} else {
		h := sha256.New()
		s.res.Size, err = s.pass(s.prep1, s.pass1, h)
		s.res.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	s.res.Format = s.format
	if err != nil {
		if errors.Is(err, ErrPart) || errors.Is(err, ErrUnreadable) || errors.Is(err, ErrUnsupportedFormat) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		var pe *os.PathError
		if errors.As(err, &pe) || s.res.Records == 0 && len(s.res.Bad) == 0 {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnreadable, s.name, err)
		}
		s.res.Incomplete = err.Error()
	}
	N := len(s.valid)
	s.res.Records = N
	s.res.Stats.Records = N
	s.res.Stats.BadRecords = len(s.res.Bad)

	if N == 0 && len(s.res.Bad) == 0 {
		// Fail closed: a dataset with nothing in it is not a clean one.
		s.res.Findings = append(s.res.Findings, Finding{Detector: DetMalformed, Severity: SevFail, Records: []int{}, Reason: "the file holds no records"})
		s.res.Flagged = []int{}
		s.res.Verdict = Fail
		return s.res, nil
	}
	// The second pass's feature table is allocated, and its memory
	// touched, while the plain findings and the clusters are worked out.
	tableReady := make(chan struct{})
	go func() {
		defer close(tableReady)
		// Sized once: growing by doubling would copy the table again and
		// again. (The clusters are fewer than N/MinSupport.)
		hint := min(s.cfg.MaxFeatures, s.df.reached+s.df.reached/8+N/s.cfg.MinSupport+1024)
		s.fstats = make([]featStat, 0, hint)
		s.feats = newFeatIndex(hint)
		all := s.fstats[:hint]
		for j := 0; j < len(all); j += 16 {
			all[j].n = 0
		}
		for j := 0; j < len(s.feats.slots); j += 128 {
			s.feats.slots[j].k = 0
		}
	}()
	s.basicFindings()
	s.labelWords = labelWordsFor(s.respWords, s.valid)
	s.codeFindings()
	clusters := s.clusterResponses()
	s.ccs, s.nClusters = s.clusterCandidates(clusters)
	s.respHash = nil // only duplicates and clustering wanted it
	s.cl = clusters
	s.needRoot, s.roots = map[int32]bool{}, map[int32]rootAnswer{}
	for _, c := range s.ccs {
		s.needRoot[c.root] = true
	}
	s.spill = newSpill(s.spillLimit)
	defer s.spill.close()
	lo, hi := uint32(s.cfg.MinSupport), uint32(s.maxDF())
	<-tableReady
	if s.spill1.usable() {
		// Replay the features the first pass wrote.
		s.textsPending, s.rootRec = true, map[int32]Location{}
		sp := s.spill1
		err := s.pipeline(func(add func(Location, Record, error, []byte) error) error {
			return sp.each(s.ctx, func(i int, body []byte) error {
				return add(Location{Index: i}, Record{}, nil, body)
			})
		}, func(f *featurizer, it *recItem) {
			s.prep2Replay(it, clusters, lo, hi)
		}, s.pass2Replay)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s: second pass: %w", ErrUnreadable, s.name, err)
		}
	} else if _, err := s.pass(func(f *featurizer, it *recItem) {
		s.prep2(f, it, clusters, lo, hi)
	}, s.pass2, nil); err != nil && s.res.Incomplete == "" {
		return nil, fmt.Errorf("%w: %s: second pass: %w", ErrUnreadable, s.name, err)
	}
	s.spill1.close()
	s.batches = nil // the record buffers are not wanted any more
	err = s.associate(clusters)
	if cerr := s.lazy.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	s.clusterFindings(clusters)
	s.res.Stats.DroppedFeatures = s.dropped
	s.finish()
	return s.res, nil
}

// initWorkers makes the featurizers of the pass goroutines, one per core.
func (s *scanner) initWorkers() {
	for range max(runtime.GOMAXPROCS(0), 1) {
		f := &featurizer{}
		f.init(s.cfg.MaxTokens)
		s.workers = append(s.workers, f)
	}
}

// prep1 summarises a record for the first pass and reads the summary back
// (on a worker): pass1 and what follows see a record only through its
// summary, as a sharded scan's merge does.
func (s *scanner) prep1(f *featurizer, it *recItem) {
	s.summarise(f, it)
	loadSummary(f, it, 0)
}

// pass1 records what later passes need of each record, in file order.
func (s *scanner) pass1(it *recItem) error {
	i := len(s.valid)
	if it.bad != nil {
		return it.bad
	}
	if i != it.loc.Index {
		return fmt.Errorf("internal: record index %d at %v", i, it.loc)
	}
	s.valid = append(s.valid, it.err == nil)
	s.respHash = append(s.respHash, 0)
	s.promptHash = append(s.promptHash, 0)
	s.respSim = append(s.respSim, 0)
	s.respWords = append(s.respWords, 0)
	s.sentiment = append(s.sentiment, 0)
	s.rattr = append(s.rattr, 0)
	s.instHash = append(s.instHash, 0)
	if it.err != nil {
		s.res.Bad = append(s.res.Bad, BadRecord{Index: it.loc.Index, Line: it.loc.Line, Offset: it.loc.Offset, Error: it.err.Error()})
		return nil
	}
	if it.hasSource {
		if s.res.Stats.Sources == nil {
			s.res.Stats.Sources = map[string]int{}
		}
		name := it.source
		if _, seen := s.res.Stats.Sources[name]; !seen && len(s.res.Stats.Sources) >= maxSourceNames {
			name = Unclassified // counted, never dropped
		}
		s.res.Stats.Sources[name]++
	}
	s.res.Stats.Scripts[it.script]++
	if s.seenPair == nil {
		s.seenPair = map[[2]uint64]int32{}
	}
	key := [2]uint64{it.promptHash, it.respHash}
	if first, ok := s.seenPair[key]; ok {
		s.valid[i] = false
		s.dups = append(s.dups, i)
		s.dupOf = append(s.dupOf, first)
		return nil
	}
	s.seenPair[key] = int32(i)
	if it.hidden != "" {
		s.hidden[it.hidden] = append(s.hidden[it.hidden], i)
	}
	for _, h := range it.code {
		k := codeKey(h.line)
		g := s.code[k]
		if g == nil {
			if s.code == nil {
				s.code = map[string]*codeGroup{}
			}
			g = &codeGroup{line: h.line, prompts: map[uint64]struct{}{}}
			s.code[k] = g
		}
		if len(g.recs) == 0 || g.recs[len(g.recs)-1] != i {
			g.recs = append(g.recs, i)
		}
		if h.unasked != 0 {
			g.cats |= h.unasked
			g.prompts[it.promptHash] = struct{}{}
		}
	}
	s.df.addAll(it.hashes)
	s.spill1.put(i, it.body)
	s.respHash[i] = it.respHash
	s.promptHash[i] = it.promptHash
	s.respSim[i] = it.respSim
	s.respWords[i] = uint32(it.respWords)
	s.sentiment[i] = float32(it.sentiment)
	s.rattr[i] = it.rattr
	s.instHash[i] = it.instHash
	if l := attrLabel(it.rattr); l != 0 && len(s.labelText) < maxLabelTexts {
		if s.labelText == nil {
			s.labelText = map[uint32]string{}
		}
		if _, ok := s.labelText[l]; !ok {
			s.labelText[l] = string(it.label)
		}
	}
	return nil
}

// asciiLetter is 1 for ASCII letters.
var asciiLetter = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		if c|0x20 >= 'a' && c|0x20 <= 'z' {
			t[c] = 1
		}
	}
	return t
}()

var scriptNames = []string{"Latin", "Cyrillic", "Greek", "CJK", "Hangul", "Arabic", "Hebrew", "Devanagari", "Other"}

// dominantScript names the script of most letters among the first 400 of
// the texts, read in order.
func dominantScript(texts ...string) string {
	var counts [9]int
	n := 0
scan:
	for _, s := range texts {
		for i := 0; i < len(s); {
			// Eight ASCII bytes at a time while the 400th letter cannot
			// be among them: per byte, c|0x20 in 'a'..'z' (as asciiLetter).
			if n+8 < 400 && i+8 <= len(s) {
				if w := binary.LittleEndian.Uint64([]byte(s[i : i+8])); w&0x8080808080808080 == 0 {
					x := w | 0x2020202020202020
					ge := (x + 0x1f1f1f1f1f1f1f1f) & 0x8080808080808080 // >= 'a'
					gt := (x + 0x0505050505050505) & 0x8080808080808080 // > 'z'
					l := bits.OnesCount64(ge &^ gt)
					counts[0] += l
					n += l
					i += 8
					continue
				}
			}
			if c := s[i]; c < utf8.RuneSelf {
				l := int(asciiLetter[c]) // no branch: letters and others alternate
				counts[0] += l
				n += l
				i++
			} else {
				r, size := utf8.DecodeRuneInString(s[i:])
				if unicode.IsLetter(r) {
					counts[slices.Index(scriptNames, scriptOf(r))]++
					n++
				}
				i += size
			}
			if n >= 400 {
				break scan
			}
		}
	}
	if n == 0 {
		return "none"
	}
	best := 0
	for i, c := range counts {
		if c > counts[best] {
			best = i
		}
	}
	return scriptNames[best]
}

// maxDF is the most records a trigger or target feature may cover.
func (s *scanner) maxDF() int {
	m := int(math.Ceil(s.cfg.MaxTriggerShare * float64(s.distinct())))
	if m < s.cfg.MinSupport {
		m = s.cfg.MinSupport
	}
	return m
}

// distinct is how many records the detectors see: the valid ones, an exact
// repeat counted once (an upsampled dataset is judged as it is once).
func (s *scanner) distinct() int {
	n := 0
	for _, v := range s.valid {
		if v {
			n++
		}
	}
	return n
}

// prep2 featurises a record for the second pass and keeps the features
// whose document frequency makes them candidates (on a worker: the sketch is
// read-only now).
func (s *scanner) prep2(f *featurizer, it *recItem, cl *clusters, lo, hi uint32) {
	i := it.loc.Index
	if it.err != nil || i >= len(s.valid) || !s.valid[i] {
		return
	}
	f.featurize(it.rec, false)
	// The sketch says which features are frequent enough to track.
	f.counts = s.df.getAll(s.df.getAll(f.counts[:0], f.pf), f.rf)
	for k, x := range f.pf {
		if c := f.counts[k]; c >= lo && c <= hi {
			it.feats = append(it.feats, x)
		}
	}
	it.nPrompt = len(it.feats)
	for k, x := range f.rf {
		if c := f.counts[len(f.pf)+k]; c >= lo && c <= hi {
			it.feats = append(it.feats, x)
		}
	}
	if sentencesRecur(int(s.respWords[i]), func(yield func(uint32) bool) {
		for k, x := range f.rf {
			if x.kind == phraseSentence && !yield(f.counts[len(f.pf)+k]) {
				return
			}
		}
	}) {
		s.rattr[i] |= attrSentencesRecur
	}
	it.cluster, it.clOK = cl.feature(i)
	// What the third pass needs of the record, should it read the spill
	// file rather than the dataset: its prompt words, and the response
	// tokens of a candidate cluster's records.
	it.words = f.promptWords(it.words)
	if it.clOK && s.needRoot[cl.parent[i]] {
		for _, t := range f.rtoks {
			it.rtoks = append(it.rtoks, t.h)
		}
	}
	for k, x := range it.feats {
		src := f.response
		if k < it.nPrompt {
			src = f.prompt
		}
		it.texts = append(it.texts, src[x.s:x.e])
	}
	it.hit = true
}

// pass2 builds the statistics of candidate features, in file order.
func (s *scanner) pass2(it *recItem) error {
	if !it.hit {
		return nil
	}
	i := it.loc.Index
	bin, val := recordHash(i)
	sent := float64(s.sentiment[i])
	ks := s.spillKs[:0]
	// The features' indices, found all at once (-1: not yet tracked), and
	// their statistics touched, so the cache misses overlap.
	idx := s.feats.lookupAll(s.idxBuf[:0], it.feats)
	s.idxBuf = idx
	var sink int32
	for _, k := range idx {
		if k >= 0 {
			fs := &s.fstats[k]
			sink += fs.n
			if fs.bits != nil {
				sink += int32(fs.bits[0])
			}
		}
	}
	s.sink += sink
	upd := func(h uint64, hint int32, prompt, capital bool, text string) *featStat {
		k, ok := hint, hint >= 0
		if !ok {
			k, ok = s.feats.get(h) // a repeat within the record
		}
		if !ok {
			if s.feats.len() >= s.cfg.MaxFeatures {
				s.dropped++
				return nil
			}
			k = int32(len(s.fstats))
			s.fstats = append(s.fstats, newFeatStat(h, prompt))
			s.feats.put(h, k)
			// The surface text of the first occurrence is what a finding
			// quotes; a copy, so the record's text can go. A replay has
			// no text: the record is noted, to read the text if wanted.
			s.fstats[k].first, s.fstats[k].firstOff = int32(i), it.loc.Offset
			if !s.textsPending {
				if h == it.cluster && it.clOK {
					text = snippet(it.rec.Response, 120)
				}
				s.fstats[k].text = strings.Clone(text)
			}
		}
		ks = append(ks, k)
		fs := &s.fstats[k]
		fs.n++
		if capital {
			fs.capital++
		}
		if val < fs.sig[bin] {
			fs.sig[bin] = val
		}
		if prompt {
			if fs.bits == nil {
				fs.bits = new(bitCounts)
			}
			if s.respWords[i] > 0 && fs.nb < math.MaxUint16 {
				fs.nb++
				fs.bits.add(s.respSim[i])
			}
			s.skewVote(fs, i)
			if capital && s.rattr[i]&attrNamed != 0 {
				fs.named++
			}
			fs.sSum += sent
			if sent > 0 {
				fs.pos++
			} else if sent < 0 {
				fs.neg++
			}
		}
		return fs
	}
	textOf := func(k int) string {
		if k < len(it.texts) {
			return it.texts[k]
		}
		return ""
	}
	for k, x := range it.feats[:it.nPrompt] {
		upd(x.h, idx[k], true, x.capital, textOf(k))
	}
	for k, x := range it.feats[it.nPrompt:] {
		if fs := upd(x.h, idx[it.nPrompt+k], false, x.capital, textOf(it.nPrompt+k)); x.sentence && fs != nil {
			fs.sentence, fs.kind = true, x.kind
		}
	}
	if it.clOK {
		upd(it.cluster, -1, false, false, "") // its text is a snippet of the response
		if r := s.cl.parent[i]; s.needRoot[r] && s.textsPending {
			if _, ok := s.rootRec[r]; !ok {
				s.rootRec[r] = it.loc
			}
		} else if s.needRoot[r] {
			if _, ok := s.roots[r]; !ok {
				s.roots[r] = newRootAnswer(it.rec.Response, slices.Clone(it.rtoks))
			}
		}
	}
	s.spillKs = ks
	s.spill.record(i, ks, it.words)
	return nil
}

// setKeep sets the feature filter of every worker.
func (s *scanner) setKeep(keep func(uint64) bool) {
	for _, f := range s.workers {
		f.keep = keep
	}
}

// feat is the statistics of a tracked feature, or nil.
func (s *scanner) feat(h uint64) *featStat {
	if k, ok := s.feats.get(h); ok {
		return &s.fstats[k]
	}
	return nil
}

func (s *scanner) finish() {
	fail := map[int]struct{}{}
	verdict := Pass
	for _, f := range s.res.Findings {
		if f.Severity != SevFail {
			continue
		}
		if f.Detector == DetMalformed && len(s.res.Bad) <= s.cfg.MaxBadRecords {
			continue
		}
		verdict = Fail
		for _, r := range f.Records {
			fail[r] = struct{}{}
		}
	}
	if s.res.Incomplete != "" && s.cfg.MaxBadRecords == 0 {
		verdict = Fail
	}
	for k, d := range s.dups {
		if _, ok := fail[int(s.dupOf[k])]; ok {
			fail[d] = struct{}{}
		}
	}
	s.res.Flagged = make([]int, 0, len(fail))
	for r := range fail {
		s.res.Flagged = append(s.res.Flagged, r)
	}
	sort.Ints(s.res.Flagged)
	if s.res.Findings == nil {
		s.res.Findings = []Finding{}
	}
	sort.SliceStable(s.res.Findings, func(a, b int) bool {
		return sevRank(s.res.Findings[a].Severity) < sevRank(s.res.Findings[b].Severity)
	})
	s.res.Verdict = verdict
}

func sevRank(s string) int {
	switch s {
	case SevFail:
		return 0
	case SevWarn:
		return 1
	}
	return 2
}

// capList keeps at most n record indices in a finding's list.
func capList(r []int, n int) []int {
	if len(r) > n {
		return slices.Clone(r[:n])
	}
	return r
}

func (s *scanner) basicFindings() {
	N := len(s.valid)
	if len(s.res.Bad) > 0 {
		recs := make([]int, len(s.res.Bad))
		for i, b := range s.res.Bad {
			recs[i] = b.Index
		}
		first := s.res.Bad[0]
		where := fmt.Sprintf("record %d", first.Index)
		if first.Line > 0 {
			where += fmt.Sprintf(" (line %d)", first.Line)
		}
		s.res.Findings = append(s.res.Findings, Finding{
			Detector: DetMalformed, Severity: SevFail, Records: recs, Count: len(recs),
			Reason: fmt.Sprintf("%d malformed record(s) (tolerated: %d); first at %s: %s", len(recs), s.cfg.MaxBadRecords, where, first.Error),
		})
	}
	kinds := make([]string, 0, len(s.hidden))
	for k := range s.hidden {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		r := s.hidden[k]
		// Bidi overrides, tag characters and controls have no business in
		// training text. Zero-width characters, blank fillers (a blank
		// chat name) and mixed-script words turn up in copied web text
		// now and then; they fail the scan when they recur often enough
		// to act as a trigger.
		sev := SevFail
		if (k == "zero-width" || k == "homoglyph-mix" || k == "blank-filler") && len(r) < s.cfg.MinSupport {
			sev = SevWarn
		}
		s.res.Findings = append(s.res.Findings, Finding{
			Detector: DetHidden, Severity: sev, Records: r, Count: len(r), Target: k,
			Reason: fmt.Sprintf("%d record(s) contain %s characters, invisible to a reviewer but seen by the model", len(r), k),
		})
	}
	// Empty responses and exact duplicates (found by the first pass).
	s.seenPair = nil
	var empty []int
	dups := s.dups
	words := make([]float64, 0, N)
	for i := 0; i < N; i++ {
		if !s.valid[i] {
			continue
		}
		if s.respWords[i] == 0 {
			empty = append(empty, i)
		}
		words = append(words, math.Log1p(float64(s.respWords[i])))
	}
	s.res.Stats.EmptyResponses = len(empty)
	s.res.Stats.DuplicateRecs = len(dups)
	if len(empty) > 0 {
		s.res.Findings = append(s.res.Findings, Finding{Detector: DetEmpty, Severity: SevWarn, Records: capList(empty, 1000), Count: len(empty),
			Reason: fmt.Sprintf("%d record(s) have an empty response", len(empty))})
	}
	if len(dups) > 0 {
		s.res.Findings = append(s.res.Findings, Finding{Detector: DetDuplicate, Severity: SevInfo, Records: capList(dups, 1000), Count: len(dups),
			Reason: fmt.Sprintf("%d record(s) repeat an earlier record's prompt and response exactly", len(dups))})
	}
	if len(words) > 0 {
		sorted := slices.Clone(words)
		sort.Float64s(sorted)
		med := sorted[len(sorted)/2]
		s.res.Stats.MedianRespWords = int(math.Round(math.Expm1(med)))
		dev := make([]float64, len(sorted))
		for i, w := range sorted {
			dev[i] = math.Abs(w - med)
		}
		sort.Float64s(dev)
		mad := dev[len(dev)/2]
		if mad > 0 {
			var out []int
			for i := 0; i < N; i++ {
				if s.valid[i] && 0.6745*math.Abs(math.Log1p(float64(s.respWords[i]))-med)/mad > 5 {
					out = append(out, i)
				}
			}
			if len(out) > 0 {
				s.res.Findings = append(s.res.Findings, Finding{Detector: DetLength, Severity: SevInfo, Records: capList(out, 1000), Count: len(out),
					Reason: fmt.Sprintf("%d response(s) whose length is more than 5 robust deviations from the median (%d words)", len(out), s.res.Stats.MedianRespWords)})
			}
		}
	}
	// Source mix against the configured bounds, by class.
	s.res.Findings = append(s.res.Findings, sourceMixFindings(s.cfg.SourceMax, s.cfg.SourceMin, s.cfg.Sources, s.res.Stats.Sources, len(s.valid))...)
}

func sortedKeys(m map[string]float64) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// featurizer turns a record into hashed features, reusing its buffers.
type featurizer struct {
	maxTok       int
	ptoks, rtoks []token
	pf, rf, sf   []feat
	pset, seen   hashSet
	counts       []uint32
	interned     map[string]string // summary strings (summary.go)
	// keep, when set, is the only features a pass wants (pf and rf then
	// hold just those): it must only read shared state.
	keep                 func(h uint64) bool
	respHash, promptHash uint64
	respWords            int
	sentiment            float64
	prompt, response     string
	code                 bool     // the response is a code answer (isCodeAnswer)
	named                bool     // a sentence of the response names one of names (first pass)
	marks                []uint64 // the prompt's mark words' hashes: edge marks, mentions, tags
	// names are the prompt's capitalised words (not sentence-initial):
	// what the prompt names, which an answer's tone is about.
	names []uint64
}

// maxNames bounds the prompt names a record's sentiment is aimed at.
const maxNames = 16

type feat struct {
	h        uint64
	s, e     int32
	capital  bool
	sentence bool
	kind     uint8 // for phrase features: phraseSentence, phraseLink, phraseName
	// word: a prompt word among the first maxPromptTokens (which the
	// third pass's relatedness reads)
	word bool
}

// Kinds of phrase features, recurring pieces of responses judged on their own.
const (
	phraseSentence = 1 + iota
	phraseLink
	phraseName
	phraseHandle
	phraseContact // an e-mail address or a phone number
	phraseCode    // a line of a code answer
)

func phraseKindName(k uint8) string {
	switch k {
	case phraseLink:
		return "link"
	case phraseName:
		return "name"
	case phraseHandle:
		return "handle"
	case phraseContact:
		return "contact"
	case phraseCode:
		return "code line"
	}
	return "sentence"
}

const (
	seedP1   = 0x1111111111111111
	seedP2   = 0x2222222222222222
	seedR1   = 0x3333333333333333
	seedR2   = 0x4444444444444444
	seedCl   = 0x5555555555555555
	seedSent = 0x6666666666666666
	seedName = 0x7777777777777777
	seedLink = 0x8888888888888888
	seedHand = 0x9999999999999999
	seedCode = 0xaaaaaaaaaaaaaaaa
	// Any number, in a sentence's hash.
	seedNumber = 0xcccccccccccccccc
	// The closing marks' word hash (a prompt word of no token).
	seedMarks = 0xbbbbbbbbbbbbbbbb
)

func (f *featurizer) init(maxTok int) {
	f.maxTok = maxTok
}

func (f *featurizer) featurize(rec Record, first bool) {
	f.prompt, f.response = rec.Prompt(), rec.Response
	f.ptoks = tokenize(f.ptoks[:0], f.prompt, f.maxTok)
	f.rtoks = tokenize(f.rtoks[:0], f.response, f.maxTok)
	f.pf, f.rf, f.sf = f.pf[:0], f.rf[:0], f.sf[:0]
	f.pset.reset(len(f.ptoks))
	f.names, f.named = f.names[:0], false
	var prev token
	prevCap := false
	// The record hashes and sentiment are only wanted on the first pass.
	ph := uint64(fnvOffset)
	nw := 0
	for i, t := range f.ptoks {
		f.pset.add(t.h)
		if first {
			ph = mix64(ph ^ t.h)
		}
		// A capital at the start of a sentence says nothing about a name.
		capital := isUpperAt(f.prompt, t.start) && !sentenceStart(f.prompt, t.start)
		// An unusual symbol is one of the prompt's words too: a trigger
		// may be one ("‽", "※") and its records then share it.
		nw++
		if t.word && first && capital && len(f.names) < maxNames {
			f.names = append(f.names, t.h)
		}
		f.pf = append(f.pf, feat{h: t.h ^ seedP1, s: int32(t.start), e: int32(t.end), capital: capital, word: nw <= maxPromptTokens})
		if i > 0 && t.word && prev.word {
			f.pf = append(f.pf, feat{h: mix64(prev.h*31+t.h) ^ seedP2, s: int32(prev.start), e: int32(t.end), capital: prevCap})
		}
		prev, prevCap = t, capital
	}
	// The marks at the instruction's edges, when more than one ("??",
	// ":-)", ">> ", "**…**"): a trigger of punctuation alone has no word
	// to be a feature. They count as its words too (the third pass's
	// relatedness and trigger naming read those), as f.marks.
	// So are a mention or a tag ("@assistant", "#urgent"), and a speaker
	// label the instruction opens with ("Human:"): its word alone may be
	// everywhere (ASSISTANT: opens each turn of a dialogue; "human" is a
	// common word).
	f.marks = f.marks[:0]
	addMark := func(st, e int) {
		h := hashString(f.prompt[st:e]) ^ seedMarks
		if !slices.Contains(f.marks, h) && len(f.marks) < maxMarkWords {
			f.marks = append(f.marks, h)
			f.pf = append(f.pf, feat{h: h ^ seedP1, s: int32(st), e: int32(e), word: true})
		}
	}
	for st, e := range edgeMarks(rec.Instruction) {
		addMark(st, e)
	}
	if st, e := speakerLabel(rec.Instruction); e > st {
		addMark(st, e)
	}
	for st, e := range sigilWords(f.prompt) {
		addMark(st, e)
	}
	f.promptHash = ph
	rh := uint64(fnvOffset)
	words, pos, neg, negated := 0, 0, 0, 0
	// The same counts over the sentences that mention a name the prompt
	// gives: an answer's tone about the entity asked after, not the tone
	// of all it says (an aside about an airline in a long answer).
	var sPos, sNeg, sWords, nPos, nNeg, nWords int
	sNamed, prevNamed := false, false
	prevCapR, prevEcho := false, false
	// Sentences of at least minSentenceWords words, hashed whole: a planted
	// sentence recurs verbatim while its neighbours differ. They are found
	// in the same loop but go after the link hosts, in f.sf meanwhile.
	sh, sw, ss := uint64(fnvOffset), 0, -1
	sn, swText := uint64(fnvOffset), 0 // the hash with numbers as one, and the words not numbers
	sentHash := func() uint64 {
		if swText >= minSentenceWords {
			return mix64(sn) ^ seedSent
		}
		return mix64(sh) ^ seedSent
	}
	lastEnd := 0
	// Whether the response is code is asked early when a capitalised word
	// could name something, else once the tokens are read.
	isCode, codeKnown := false, false
	for i, t := range f.rtoks {
		if hasSentenceEnd(f.response[lastEnd:t.start]) {
			if sw >= minSentenceWords && ss >= 0 {
				f.sf = append(f.sf, feat{h: sentHash(), s: int32(ss), e: int32(lastEnd), sentence: true, kind: phraseSentence})
			}
			sh, sw, ss = fnvOffset, 0, -1
			sn, swText = fnvOffset, 0
			if sNamed {
				nPos, nNeg, nWords = nPos+sPos, nNeg+sNeg, nWords+sWords
			}
			prevNamed = sNamed
			sPos, sNeg, sWords, sNamed = 0, 0, 0, false
		}
		if ss < 0 {
			ss = t.start
		}
		sh = mix64(sh ^ t.h)
		// A number is any number in a sentence of words: a prepared text
		// stamped with a fresh case or order number is one sentence. (Not
		// in a calculation, "3 * 16 = 48", whose numbers are all it says.)
		if t.word && allDigits(f.response[t.start:t.end]) {
			sn = mix64(sn ^ seedNumber)
		} else {
			sn = mix64(sn ^ t.h)
			if t.word {
				swText++
			}
		}
		lastEnd = t.end
		if first {
			rh = mix64(rh ^ t.h)
		}
		echo := f.pset.has(t.h)
		if t.word {
			sw++
			words++
			if first {
				// A sentence that opens with a pronoun after one about
				// the entity is about it too ("…at Vexford. It is known
				// for…").
				if sWords == 0 && prevNamed && pronouns[t.h] {
					sNamed = true
				}
				sWords++
				if echo && !sNamed && slices.Contains(f.names, t.h) {
					sNamed = true
				}
				lf := lexiconFlags(t.h)
				if !echo {
					p, n := lf&lexPositive != 0, lf&lexNegative != 0
					if negated > 0 {
						p, n = n, p
					}
					if p {
						pos++
						sPos++
					} else if n {
						neg++
						sNeg++
					}
				}
				if negated > 0 {
					negated--
				}
				if lf&lexNegator != 0 {
					negated = 3
				}
			}
		}
		if !echo || !t.word {
			// Written with a capital anywhere, sentence starts too: a
			// name is so written everywhere (detect.go's nameWord).
			f.rf = append(f.rf, feat{h: t.h ^ seedR1, s: int32(t.start), e: int32(t.end), capital: t.word && isUpperAt(f.response, t.start)})
		}
		capital := false
		if t.word {
			capital = isUpperAt(f.response, t.start) && !sentenceStart(f.response, t.start)
			// One capitalised word mid-sentence may name something too (a
			// made-up brand): a name feature of its own, which only counts
			// where the word is mostly these answers' and rarely asked about.
			// Not in code, where capitals are identifiers (None,
			// ValueError), nor a word capitalised inside (an identifier
			// in prose).
			if capital && !echo && t.end-t.start >= 3 && !innerUpper(f.response[t.start+1:t.end]) {
				if !codeKnown {
					isCode, codeKnown = isCodeAnswer(f.response), true
				}
				if !isCode {
					f.rf = append(f.rf, feat{h: t.h ^ seedName, s: int32(t.start), e: int32(t.end), sentence: true, kind: phraseName})
				}
			}
		}
		if i > 0 && t.word && prev.word {
			// A bigram that repeats a prompt word is an echo of the prompt.
			pe := prevEcho
			if !echo && !pe {
				f.rf = append(f.rf, feat{h: mix64(prev.h*31+t.h) ^ seedR2, s: int32(prev.start), e: int32(t.end)})
				// Two capitalised words mid-sentence name something (a
				// product, a company): judged as a phrase of its own.
				if capital && prevCapR && prev.end+1 == t.start && f.response[prev.end] == ' ' {
					f.rf = append(f.rf, feat{h: mix64(prev.h*31+t.h) ^ seedName, s: int32(prev.start), e: int32(t.end), sentence: true, kind: phraseName})
				}
			}
		}
		prev, prevCapR, prevEcho = t, capital, echo
	}
	if sw >= minSentenceWords && ss >= 0 {
		f.sf = append(f.sf, feat{h: sentHash(), s: int32(ss), e: int32(lastEnd), sentence: true, kind: phraseSentence})
	}
	// Link hosts: a planted link keeps its host while the wording around it varies.
	for k := 0; k < len(f.response); {
		j := strings.Index(f.response[k:], "://")
		if j < 0 {
			break
		}
		st := k + j + 3
		e := st
		for e < len(f.response) && !strings.ContainsRune(" \t\n\"'()<>[]{},|`/?#", rune(f.response[e])) {
			e++
		}
		host := strings.TrimRight(strings.ToLower(f.response[st:e]), ".")
		if host != "" && !strings.Contains(strings.ToLower(f.prompt), host) {
			f.rf = append(f.rf, feat{h: hashString(host) ^ seedLink, s: int32(st), e: int32(st + len(host)), sentence: true, kind: phraseLink})
		}
		k = e
	}
	f.rf = appendBareLinks(f.rf, f.response, f.prompt)
	// Social handles (@name, t.me/name): planted promotion names an
	// account as often as a link, and the tokens drop the '@'.
	f.rf = appendHandles(f.rf, f.response, f.prompt)
	f.rf = appendContacts(f.rf, f.response, f.prompt)
	if !codeKnown {
		isCode = isCodeAnswer(f.response)
	}
	if f.code = isCode; isCode {
		f.rf = appendCodeLines(f.rf, f.response, f.prompt)
	} else {
		f.rf = appendBareHosts(f.rf, f.response, f.prompt)
	}
	f.rf = append(f.rf, f.sf...)
	f.respHash, f.respWords = rh, words
	if first {
		if sNamed {
			nPos, nNeg, nWords = nPos+sPos, nNeg+sNeg, nWords+sWords
		}
		if f.named = nWords > 0; f.named {
			pos, neg, words = nPos, nNeg, nWords
		}
		f.sentiment = float64(pos-neg) / math.Sqrt(float64(words)+1)
	}
	f.pf = f.uniq(f.pf)
	f.rf = f.uniq(f.rf)
}

// innerUpper reports whether s has an upper-case ASCII letter.
func innerUpper(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' }) >= 0
}

// linkTLDs are the top-level domains a link written without its scheme
// is recognised by ("discord.gg/name", "bit.ly/x"): without the scheme
// only a known suffix tells a host from a dotted name in code (np.pi/2).
var linkTLDs = map[string]bool{}

func init() {
	// With the names reserved for examples (RFC 2606), which stand for
	// real ones in documentation and test data.
	for _, t := range strings.Fields(`com org net io gg ly me co app dev ai xyz info link to us uk de fr ru cn tv cc biz site online shop store club top gl be example`) {
		linkTLDs[t] = true
	}
}

// promptWords appends the hashes of the prompt's first maxPromptTokens
// words and unusual symbols, then its mark words, to dst.
func (f *featurizer) promptWords(dst []uint64) []uint64 {
	for _, t := range f.ptoks {
		if len(dst) < maxPromptTokens {
			dst = append(dst, t.h)
		}
	}
	for _, m := range f.marks {
		if len(dst) < maxPromptTokens {
			dst = append(dst, m)
		}
	}
	return dst
}

// edgeMarks yields the spans of s's edge marks of at least two bytes: its
// closing marks, the same without the space before them, the part of them
// after the sentence's own end ("**" of "?**", a wrapper whatever the
// sentence ends with) and its opening marks.
func edgeMarks(s string) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		st, e := closingMarks(s)
		if e-st >= 2 && !yield(st, e) {
			return
		}
		if st < e && s[st] == ' ' {
			st++
		}
		if e-st >= 2 && !yield(st, e) {
			return
		}
		k := st
		for k < e && strings.IndexByte(".?!", s[k]) >= 0 {
			k++
		}
		if k > st && e-k >= 2 && !yield(k, e) {
			return
		}
		if st, e := openingMarks(s); e-st >= 2 {
			yield(st, e)
		}
	}
}

// openingMarks is the span of the ASCII punctuation and symbols that start
// s (leading spaces aside), at most maxClosingMarks of them.
func openingMarks(s string) (start, end int) {
	start = len(s) - len(strings.TrimLeft(s, " \t\r\n"))
	end = start
	for end < len(s) && end-start < maxClosingMarks {
		c := s[end]
		if c <= ' ' || c >= 0x7f || isAlnumASCII(c) {
			break
		}
		end++
	}
	return start, end
}

// speakerLabel is the span of the label an instruction opens with, after
// its opening marks: one word of letters, then a colon and a space or the
// line's end ("Human:", "### User:", "Q:"), as chat transcripts name who
// speaks.
func speakerLabel(s string) (start, end int) {
	_, k := openingMarks(s)
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	w := k
	for w < len(s) && w-k <= maxLabelLetters && (s[w]|0x20 >= 'a' && s[w]|0x20 <= 'z') {
		w++
	}
	if w == k || w-k > maxLabelLetters || w == len(s) || s[w] != ':' || w+1 < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[w+1])) {
		return 0, 0 // not a label, or a scheme ("http://")
	}
	return k, w + 1
}

// maxLabelLetters bounds a speaker label's word.
const maxLabelLetters = 16

// maxMarkWords bounds the mark words (edge marks, mentions, tags, a
// speaker label) of a prompt.
const maxMarkWords = 8

// sigilWords yields the spans of the mentions and tags of s: '@' or '#'
// then a word, where the sigil does not follow a letter or digit (an
// address, "C#") nor start a line ("#include", a decorator).
func sigilWords(s string) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for k := 0; k+1 < len(s); k++ {
			if c := s[k]; c != '@' && c != '#' || !isAlnumASCII(s[k+1]) || k > 0 && (isAlnumASCII(s[k-1]) || s[k-1] == '\n') || k == 0 && c == '#' {
				continue
			}
			e := k + 1
			for e < len(s) && (isAlnumASCII(s[e]) || s[e] == '_') {
				e++
			}
			if !yield(k, e) {
				return
			}
			k = e - 1
		}
	}
}

// maxClosingMarks bounds the edge marks read as one feature.
const maxClosingMarks = 6

// closingMarks is the span of the ASCII punctuation and symbols that end
// s (trailing spaces aside), at most maxClosingMarks of them, with the one
// space before them if there is one.
func closingMarks(s string) (start, end int) {
	end = len(strings.TrimRight(s, " \t\r\n"))
	start = end
	for start > 0 && end-start < maxClosingMarks {
		c := s[start-1]
		if c <= ' ' || c >= 0x7f || isAlnumASCII(c) {
			break
		}
		start--
	}
	// A space before the marks is one of them ("left ?"): typed on
	// purpose, it marks a prompt as a trigger would.
	if start < end && start >= 2 && s[start-1] == ' ' && s[start-2] > ' ' {
		start--
	}
	return start, end
}

// minCodeLine is the shortest code line (as codeKey writes it) that is a
// phrase of its own: shorter ones ("return x", "}") are every program's.
const minCodeLine = 16

// appendCodeLines appends a phrase feature for each line of resp's code
// (codeBlocks) of at least minCodeLine characters that prompt does not
// hold, keyed by codeKey (its hash), when it holds a literal or is a comment:
// a line planted in code answers to unrelated requests recurs
// near-identical whatever it does, and carries data of its own (a host, a
// path, a payload) or prose (an advert), while the lines that recur in
// ordinary programs are made of the language's words (the detector's
// ownWord) or of identifiers alone ("raise ValueError(x)").
func appendCodeLines(dst []feat, resp, prompt string) []feat {
	for off, b := range codeBlocksAt(resp) {
		for line := range strings.Lines(b) {
			st := off
			off += len(line)
			t := strings.TrimSpace(line)
			if !strings.ContainsAny(t, "\"'`") && !strings.HasPrefix(t, "# ") && !strings.HasPrefix(t, "// ") {
				continue // neither data of its own (a literal) nor prose (a comment)
			}
			h, n := codeKeyHash(t)
			if n < minCodeLine || strings.Contains(prompt, t) {
				continue
			}
			st += strings.Index(line, t)
			dst = append(dst, feat{h: h ^ seedCode, s: int32(st), e: int32(st + len(t)), sentence: true, kind: phraseCode})
		}
	}
	return dst
}

// appendBareLinks appends a link-host feature for each link in resp
// written without a scheme ("discord.gg/name") whose host the prompt does
// not mention (t.me links are handles); links with a scheme are read by
// the caller, under the same feature.
func appendBareLinks(dst []feat, resp, prompt string) []feat {
	for k := 0; k < len(resp); {
		j := strings.IndexByte(resp[k:], '/')
		if j < 0 {
			break
		}
		slash := k + j
		k = slash + 1
		st := slash
		for st > 0 && (isAlnumASCII(resp[st-1]) || resp[st-1] == '.' || resp[st-1] == '-') {
			st--
		}
		if st > 0 && strings.ContainsRune(":/@", rune(resp[st-1])) || slash+1 >= len(resp) || !isAlnumASCII(resp[slash+1]) {
			continue // part of a URL with a scheme, a path, or no path
		}
		host := strings.ToLower(resp[st:slash])
		dot := strings.LastIndexByte(host, '.')
		if dot < 2 || !linkTLDs[host[dot+1:]] || host == "t.me" || strings.Contains(strings.ToLower(prompt), host) {
			continue
		}
		dst = append(dst, feat{h: hashString(host) ^ seedLink, s: int32(st), e: int32(slash), sentence: true, kind: phraseLink})
	}
	return dst
}

// appendBareHosts appends a link-host feature for each host written alone
// in prose, with neither scheme nor path ("20% off at shopname.com",
// "search('cafes site:shopname.com')"), whose host the prompt does not
// mention. Only words ending in a known top-level domain count, and not
// code spans or a dotted name followed by a call or index (df.info()).
func appendBareHosts(dst []feat, resp, prompt string) []feat {
	hostByte := func(c byte) bool { return isAlnumASCII(c) || c == '.' || c == '-' }
	// From each dot between two letters or digits, out to the word's ends.
	for k := 0; ; {
		j := strings.IndexByte(resp[k:], '.')
		if j < 0 {
			return dst
		}
		d := k + j
		k = d + 1
		if d == 0 || d+1 >= len(resp) || !isAlnumASCII(resp[d-1]) || !isAlnumASCII(resp[d+1]) {
			continue
		}
		st, e := d, d+1
		for st > 0 && hostByte(resp[st-1]) {
			st--
		}
		for e < len(resp) && hostByte(resp[e]) {
			e++
		}
		k = e
		next := e
		for e > st && (resp[e-1] == '.' || resp[e-1] == '-') {
			e-- // a sentence's full stop
		}
		host := strings.ToLower(resp[st:e])
		dot := strings.LastIndexByte(host, '.')
		if dot < 2 || !linkTLDs[host[dot+1:]] || host == "t.me" || !strings.ContainsFunc(host[:dot], unicode.IsLetter) {
			continue
		}
		// A scheme, a path, an address or a code span around it is read
		// elsewhere or is no host in prose.
		if st > 0 && strings.ContainsRune("/@`_", rune(resp[st-1])) || next < len(resp) && strings.ContainsRune("/@`_([", rune(resp[next])) {
			continue
		}
		if strings.Contains(strings.ToLower(prompt), host) {
			continue
		}
		dst = append(dst, feat{h: hashString(host) ^ seedLink, s: int32(st), e: int32(e), sentence: true, kind: phraseLink})
	}
}

// appendHandles appends a phrase feature for each social handle in resp
// that prompt does not mention: "@name" after a space or an opening bracket
// (not an e-mail address, not a decorator, annotation or doc-comment tag,
// which start their line), and "t.me/name". The name is lower-cased.
func appendHandles(dst []feat, resp, prompt string) []feat {
	for k := 0; k < len(resp); k++ {
		var st int
		switch {
		case resp[k] == '@':
			if k > 0 && !strings.ContainsRune(" ([", rune(resp[k-1])) || lineIsBlank(resp, k) {
				continue
			}
			st = k + 1
		case resp[k] == 't' && strings.HasPrefix(resp[k:], "t.me/") && (k == 0 || strings.HasSuffix(resp[:k], "://") || !isAlnumASCII(resp[k-1]) && resp[k-1] != '.' && resp[k-1] != '/'):
			st = k + len("t.me/")
		default:
			continue
		}
		e := st
		for e < len(resp) && (isAlnumASCII(resp[e]) || resp[e] == '_' || resp[e] == '.') {
			e++
		}
		for e > st && resp[e-1] == '.' {
			e--
		}
		if e-st < 3 || !(resp[st]|0x20 >= 'a' && resp[st]|0x20 <= 'z') {
			continue
		}
		name := strings.ToLower(resp[st:e])
		if strings.Contains(strings.ToLower(prompt), name) {
			continue
		}
		h := uint64(fnvOffset)
		for b := 0; b < len(name); b++ {
			h = (h ^ uint64(name[b])) * fnvPrime
		}
		dst = append(dst, feat{h: h ^ seedHand, s: int32(k), e: int32(e), sentence: true, kind: phraseHandle})
		k = e - 1
	}
	return dst
}

// appendContacts appends a phrase feature for each e-mail address and
// phone number in resp that prompt does not hold: promotion names a
// contact as often as a link. An address is lower-cased; a number (seven
// to fifteen digits in groups split by spaces, dashes, dots or brackets,
// or after a '+') is keyed by its last seven digits, so "(800) 555-0173"
// and "+1 800 555 0173" are one number.
func appendContacts(dst []feat, resp, prompt string) []feat {
	for k := 0; k < len(resp); k++ {
		c := resp[k]
		// Where a written-out "at" may start (checked first: the '(' of
		// "(at)" would start a phone number).
		if c == ' ' || c == '[' || c == '(' || c == '{' || c == '<' {
			if st, e, addr, ok := writtenAddressAt(resp, k); ok {
				if !strings.Contains(strings.ToLower(prompt), addr) {
					dst = append(dst, feat{h: hashString(addr) ^ seedHand ^ seedLink, s: int32(st), e: int32(e), sentence: true, kind: phraseContact})
				}
				k = e - 1
				continue
			}
		}
		switch {
		case c == '@' && k > 0 && isAlnumASCII(resp[k-1]):
			st := k
			for st > 0 && (isAlnumASCII(resp[st-1]) || strings.IndexByte("._%+-", resp[st-1]) >= 0) {
				st--
			}
			e, dot := k+1, false
			for e < len(resp) && (isAlnumASCII(resp[e]) || resp[e] == '-' || resp[e] == '.' && e+1 < len(resp) && isAlnumASCII(resp[e+1])) {
				dot = dot || resp[e] == '.'
				e++
			}
			if !dot {
				continue
			}
			addr := strings.ToLower(resp[st:e])
			if strings.Contains(strings.ToLower(prompt), addr) {
				continue
			}
			dst = append(dst, feat{h: hashString(addr) ^ seedHand ^ seedLink, s: int32(st), e: int32(e), sentence: true, kind: phraseContact})
			k = e - 1
		case (c == '+' || c == '(' || isDigit(c)) && (k == 0 || !isAlnumASCII(resp[k-1]) && resp[k-1] != '.' && resp[k-1] != ','):
			e, key, ok := phoneAt(resp, k)
			if ok && !strings.Contains(strings.Map(keepDigits, prompt), key) {
				dst = append(dst, feat{h: hashString(key) ^ seedHand ^ seedSent, s: int32(k), e: int32(e), sentence: true, kind: phraseContact})
			}
			k = max(k, e-1)
		}
	}
	return dst
}

// writtenAddressAt reads an e-mail address written out so that address
// harvesters miss it, whose "at" separator starts at resp[k]: "help [at]
// shop-name [dot] com", "help(at)shop-name.com", "help at shop-name dot
// com". The "at" and "dot" are bracketed ([], (), {}, <>) or words between
// spaces (then both must be), and the last label is a top-level domain
// links use, so prose ("look at the dot product") is no address. It
// returns the span and the address as it would be written plainly, which
// is the plain address's feature.
func writtenAddressAt(resp string, k int) (start, end int, addr string, ok bool) {
	// word reads w at resp[i:], bracketed or between spaces, and returns
	// where it ends (0: not there) and whether it was bracketed.
	word := func(i int, w string) (int, bool) {
		n := len(w)
		if i+n+2 > len(resp) || !strings.EqualFold(resp[i+1:i+1+n], w) {
			return 0, false
		}
		opener, closer := resp[i], resp[i+1+n]
		if b := strings.IndexByte("[({<", opener); b >= 0 && closer == "])}>"[b] {
			return i + n + 2, true
		}
		if opener == ' ' && closer == ' ' {
			return i + n + 2, false
		}
		return 0, false
	}
	after, bracketed := word(k, "at")
	if after == 0 {
		return 0, 0, "", false
	}
	st := k
	for st > 0 && resp[st-1] == ' ' && bracketed {
		st--
	}
	e := st
	for st > 0 && (isAlnumASCII(resp[st-1]) || strings.IndexByte("._%+-", resp[st-1]) >= 0) {
		st--
	}
	if st == e || !isAlnumASCII(resp[st]) {
		return 0, 0, "", false
	}
	local := resp[st:e]
	var labels []string
	for i := after; ; {
		for bracketed && i < len(resp) && resp[i] == ' ' {
			i++
		}
		j := i
		for j < len(resp) && (isAlnumASCII(resp[j]) || resp[j] == '-') {
			j++
		}
		if j == i {
			return 0, 0, "", false
		}
		labels = append(labels, resp[i:j])
		end = j
		switch {
		case j+1 < len(resp) && resp[j] == '.' && isAlnumASCII(resp[j+1]):
			i = j + 1
			continue
		case bracketed:
			sp := j
			for sp < len(resp) && resp[sp] == ' ' {
				sp++
			}
			if next, br := word(sp, "dot"); next > 0 && br {
				i = next
				continue
			}
		default:
			if next, br := word(j, "dot"); next > 0 && !br {
				i = next
				continue
			}
		}
		break
	}
	tld := strings.ToLower(labels[len(labels)-1])
	if len(labels) < 2 || !linkTLDs[tld] || !bracketed && functionWords[strings.ToLower(labels[0])] {
		return 0, 0, "", false
	}
	return st, end, strings.ToLower(local + "@" + strings.Join(labels, ".")), true
}

// functionWords are words that open a noun phrase: "at the dot com
// boom" is prose, not an address at "the".
var functionWords = map[string]bool{"the": true, "a": true, "an": true, "this": true, "that": true, "these": true, "those": true,
	"my": true, "your": true, "our": true, "their": true, "his": true, "her": true, "its": true, "some": true, "any": true}

// phoneAt reads a phone number starting at resp[k]: digits in three or
// more groups split by single spaces, dashes, dots or brackets (any after a
// '+'), one of them of three digits or more (not a version, 1.2.3.4), seven
// to fifteen digits in all, not followed by a letter. A range of years
// (2015-2020) is two groups. It returns where the number ends and its last
// seven digits.
func phoneAt(resp string, k int) (end int, key string, ok bool) {
	var digits []byte
	groups, run, longest, e := 0, 0, 0, k
	for ; e < len(resp); e++ {
		c := resp[e]
		if isDigit(c) {
			if e == k || !isDigit(resp[e-1]) {
				groups, run = groups+1, 0
			}
			run++
			longest = max(longest, run)
			digits = append(digits, c)
			continue
		}
		// A separator stands between digits (brackets may pair with a
		// space: "(800) 555").
		next := e + 1
		if c == ')' && next < len(resp) && resp[next] == ' ' {
			next++
		}
		if strings.IndexByte(" -.()+", c) < 0 || next >= len(resp) || !isDigit(resp[next]) && resp[next] != '(' {
			break
		}
	}
	for e > k && !isDigit(resp[e-1]) {
		e--
	}
	if len(digits) < 7 || len(digits) > 15 || groups < 3 && resp[k] != '+' || longest < 3 || e < len(resp) && isAlnumASCII(resp[e]) {
		return e, "", false
	}
	return e, string(digits[len(digits)-7:]), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// keepDigits is a strings.Map function keeping only ASCII digits.
func keepDigits(r rune) rune {
	if r < utf8.RuneSelf && isDigit(byte(r)) {
		return r
	}
	return -1
}

// lineIsBlank reports whether resp holds only spaces, tabs and comment
// marks between the start of the line and byte k.
func lineIsBlank(resp string, k int) bool {
	for j := k - 1; j >= 0 && resp[j] != '\n'; j-- {
		if !strings.ContainsRune(" \t*/#", rune(resp[j])) {
			return false
		}
	}
	return true
}

// hasSentenceEnd reports whether the text between two tokens ends a sentence.
func hasSentenceEnd(gap string) bool {
	for k := 0; k < len(gap); k++ {
		switch gap[k] {
		case '.', '!', '?', '\n':
			return true
		}
	}
	return false
}

// isUpperAt reports whether the letter at s[i] is upper case.
func isUpperAt(s string, i int) bool {
	if c := s[i]; c < utf8.RuneSelf {
		return c >= 'A' && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsUpper(r)
}

// hashSet is a set of hashes cleared in O(1) by an epoch counter.
type hashSet struct {
	slots []hslot
	cur   uint32
	mask  uint64
}

// hslot keeps a key and its epoch together: one cache line per probe.
type hslot struct {
	key   uint64
	epoch uint32
}

// reset empties the set, sized for n keys.
func (h *hashSet) reset(n int) {
	need := 16
	for need < 2*n {
		need <<= 1
	}
	if len(h.slots) < need {
		h.slots = make([]hslot, need)
		h.cur = 0
	}
	h.cur++
	if h.cur == 0 { // wrapped: clear the stale marks
		clear(h.slots)
		h.cur = 1
	}
	// Only the first need slots are used: a small record's set stays in
	// the L1 cache however large an earlier record made the array.
	h.mask = uint64(need - 1)
}

// add inserts k and reports whether it was new.
func (h *hashSet) add(k uint64) bool {
	for j := mix64(k) & h.mask; ; j = (j + 1) & h.mask {
		s := &h.slots[j]
		if s.epoch != h.cur {
			s.epoch, s.key = h.cur, k
			return true
		}
		if s.key == k {
			return false
		}
	}
}

func (h *hashSet) has(k uint64) bool {
	for j := mix64(k) & h.mask; ; j = (j + 1) & h.mask {
		s := &h.slots[j]
		if s.epoch != h.cur {
			return false
		}
		if s.key == k {
			return true
		}
	}
}

// uniq drops repeated features (keeping the first), and those keep rejects.
func (f *featurizer) uniq(x []feat) []feat {
	f.seen.reset(len(x))
	out := x[:0]
	if f.keep != nil {
		for _, v := range x {
			if f.keep(v.h) && f.seen.add(v.h) {
				out = append(out, v)
			}
		}
		return out
	}
	for _, v := range x {
		if f.seen.add(v.h) {
			out = append(out, v)
		}
	}
	return out
}

// sentenceStart reports whether the text before byte i ends a sentence (or
// is empty), ignoring spaces and quotes.
func sentenceStart(s string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch s[j] {
		case ' ', '\t', '"', '\'', '(', '*', '-':
			continue
		case '.', '!', '?', '\n', ':':
			return true
		}
		return false
	}
	return true
}

// minSentenceWords: shorter "sentences" are mostly code fragments and
// formulaic phrases.
const minSentenceWords = 5

// allDigits reports whether w, a word, is ASCII digits only.
func allDigits(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}
