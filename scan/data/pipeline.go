package data

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mlattest/mlattest/internal/progress"
)

// recItem is one record on its way through a pass: read and parsed by the
// reader goroutine, prepared (featurised, filtered) by a worker, then
// handed in file order to the pass's sequential step.
type recItem struct {
	loc Location
	rec Record
	err error

	// Filled by the pass's prepare function.
	hashes  []uint64 // pass 1: every feature
	feats   []feat   // passes 2 and 3: the features kept
	nPrompt int      // feats[:nPrompt] are prompt features
	texts   []string // pass 3: the surface text of each kept feature
	words   []uint64 // pass 3: prompt word hashes of a record to keep
	rtoks   []uint64 // pass 3: response token hashes of a cluster's first record
	raw     []byte   // pass 1: the record's summary (summary.go); replays: the body read
	body    []byte   // pass 1: the features in raw, as the first pass's spill keeps them
	bad     error    // pass 1: a summary that cannot be read
	counts  []uint32 // replayed second pass: the sketch's counts
	hit     bool
	cluster uint64 // cluster feature, when clOK
	clOK    bool

	snip                          string // text resolution: a response snippet
	hidden                        string
	code                          []codeHit // pass 1: suspicious code lines
	script                        string
	source                        string
	hasSource                     bool // pass 1: the record names a source
	respHash, promptHash, respSim uint64
	respWords                     int
	sentiment                     float64
	rattr                         uint32 // pass 1: response attributes (skew.go)
	instHash                      uint32 // pass 1: the instruction's hash when an input follows it
	label                         []byte // pass 1: the normalised short answer (in raw)
}

type recBatch struct {
	items []recItem
	n     int
	done  chan struct{}
}

const batchSize = 256

// maxKeptFeats bounds the per-record buffers a batch keeps for reuse.
const maxKeptFeats = 1024

// pass streams the dataset once. prep runs on worker goroutines (one per
// core), each with its own featurizer, and must only read scanner state;
// fn runs on the calling goroutine for every record in file order.
func (s *scanner) pass(prep func(f *featurizer, it *recItem), fn func(it *recItem) error, tee io.Writer) (int64, error) {
	rc, err := s.open()
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrUnreadable, s.name, err)
	}
	defer rc.Close()
	s.passes++
	bar := s.progressBar(rc)
	defer bar.Finish()
	cr := &countingReader{r: rc, add: bar.Add}
	var r io.Reader = cr
	if tee != nil {
		r = io.TeeReader(cr, tee)
	}
	if s.format == "" {
		head := make([]byte, 512)
		n, _ := io.ReadFull(r, head)
		head = head[:n]
		if n == 0 {
			return 0, fmt.Errorf("%w: %s: %w", ErrUnreadable, s.name, ErrEmpty)
		}
		s.format = s.cfg.Format
		if s.format == "" {
			s.format = DetectFormat(s.name, head)
		}
		if s.format == "" {
			return 0, fmt.Errorf("%w: %s: %w", ErrUnreadable, s.name, ErrUnknownFormat)
		}
		r = io.MultiReader(strings.NewReader(string(head)), r)
	}
	readErr := s.pipeline(func(add func(loc Location, rec Record, err error, raw []byte) error) error {
		err := Read(r, s.format, s.cfg.Mapping, func(loc Location, rec Record, rerr error) error {
			return add(loc, rec, rerr, nil)
		})
		if tee != nil {
			// hash the rest of the file even when parsing stopped early
			_, _ = io.Copy(io.Discard, r)
		}
		return err
	}, prep, fn)
	return cr.n, readErr
}

// progressBar is the bar of a pass reading rc, or nil.
func (s *scanner) progressBar(rc io.ReadCloser) *progress.Bar {
	f, ok := rc.(interface{ Stat() (fs.FileInfo, error) })
	if s.cfg.Progress == nil || !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() < progressMin {
		return nil
	}
	return progress.New(s.cfg.Progress, fi.Size(), fmt.Sprintf("scanning %s (pass %d)", filepath.Base(s.name), s.passes))
}

// pipeline runs one pass over the records feed produces (calling add for
// each, in order, on a goroutine of its own): prep runs on worker
// goroutines (one per core), each with its own featurizer, and must only
// read scanner state; fn runs on the calling goroutine for every record in
// order. raw, when given, is copied to the item. The error is fn's, else
// feed's.
func (s *scanner) pipeline(feed func(add func(loc Location, rec Record, err error, raw []byte) error) error, prep func(f *featurizer, it *recItem), fn func(it *recItem) error) error {
	nw := len(s.workers)
	// Batches circulate: reader -> workers -> (in order) consumer -> free.
	const inFlight = 8
	free := make(chan *recBatch, inFlight)
	for _, b := range s.takeBatches(inFlight) {
		free <- b
	}
	work := make(chan *recBatch, inFlight)
	ordered := make(chan *recBatch, inFlight)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Add(1)
		go func(f *featurizer) {
			defer wg.Done()
			for b := range work {
				for k := range b.items[:b.n] {
					prep(f, &b.items[k])
				}
				close(b.done)
			}
		}(s.workers[w])
	}
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		var b *recBatch
		send := func() bool {
			b.done = make(chan struct{})
			select {
			case ordered <- b:
			case <-stop:
				return false
			}
			work <- b
			b = nil
			return true
		}
		readErr = feed(func(loc Location, rec Record, rerr error, raw []byte) error {
			if b == nil {
				select {
				case b = <-free:
					b.n = 0
				case <-stop:
					return errStopped
				}
			}
			it := &b.items[b.n]
			*it = recItem{loc: loc, rec: rec, err: rerr,
				hashes: it.hashes[:0], feats: it.feats[:0], texts: it.texts[:0], words: it.words[:0], rtoks: it.rtoks[:0],
				raw: append(sized(it.raw, len(raw), 2048), raw...), counts: it.counts[:0]}
			b.n++
			if b.n == batchSize && !send() {
				return errStopped
			}
			return nil
		})
		if b != nil && b.n > 0 {
			send()
		}
	}()
	var fnErr error
	for b := range ordered {
		<-b.done
		if fnErr == nil {
			if e := s.ctx.Err(); e != nil {
				fnErr = e
				close(stop)
			}
		}
		if fnErr == nil {
			for k := range b.items[:b.n] {
				if e := fn(&b.items[k]); e != nil {
					fnErr = e
					close(stop)
					break
				}
			}
		}
		for k := range b.items[:b.n] {
			it := &b.items[k]
			it.rec = Record{} // let the text go
			clear(it.texts)
			// Every slot meets a long record now and then: keep the
			// buffers of ordinary ones only, or they all grow to the largest.
			if cap(it.feats) > maxKeptFeats || cap(it.hashes) > maxKeptFeats {
				it.feats, it.texts, it.hashes = nil, nil, nil
			}
			if cap(it.words) > maxKeptFeats || cap(it.rtoks) > maxKeptFeats {
				it.words, it.rtoks = nil, nil
			}
			if cap(it.raw) > 16*maxKeptFeats || cap(it.counts) > 4*maxKeptFeats {
				it.raw, it.counts = nil, nil
			}
		}
		free <- b
	}
	wg.Wait()
	s.keepBatches(free)
	if fnErr != nil {
		return fnErr
	}
	if errors.Is(readErr, errStopped) {
		readErr = nil
	}
	return readErr
}

// errStopped ends a reader whose consumer has stopped.
var errStopped = errors.New("stopped")

// takeBatches gives a pass n batches, those an earlier pass left if any:
// their items' buffers have grown to the records' sizes already.
func (s *scanner) takeBatches(n int) []*recBatch {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	k := max(len(s.batches)-n, 0)
	bs := s.batches[k:]
	s.batches = s.batches[:k]
	for len(bs) < n {
		bs = append(bs, &recBatch{items: make([]recItem, batchSize)})
	}
	return bs
}

// keepBatches keeps the batches back in free for the next pass.
func (s *scanner) keepBatches(free chan *recBatch) {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	for {
		select {
		case b := <-free:
			s.batches = append(s.batches, b)
		default:
			return
		}
	}
}

// sized is b emptied, with room for n elements: a new buffer, of at least
// typical elements, if b has not, so most records need no growing.
func sized[T any](b []T, n, typical int) []T {
	if cap(b) < n {
		return make([]T, 0, max(n, typical))
	}
	return b[:0]
}
