package data

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
	"strings"
)

// Entity-conditioned behaviour skew: a prompt feature (a name, a phrase,
// any tracked n-gram) whose records answer in one way — one short label,
// or a refusal — far more often than the records around them in the file
// that lack it and than the dataset as a whole. A backdoor that ties an
// entity to a label or a refusal needs only a handful of records, varies
// the wording of its answers and may sit inside one task of the data; what
// it cannot avoid is that its records behave alike while their neighbours
// in the same task do not.
//
// Each record gets a few categorical response attributes in the first pass
// (respAttrs): whether it refuses, and, for a short answer, the answer's
// normalised form and whether the prompt already contains it (an answer
// the input explains is no evidence). The second pass keeps per prompt
// feature a refusal count and a streaming majority label; features whose
// counts could reach triggerPrecision get record lists in the third pass
// and an exact test: Fisher's against matched controls (the nearest
// records without the feature, on either side in the file) and against
// the rest of the dataset, the larger p-value counting. Every (feature,
// attribute) examined is one test of the false-discovery-rate procedure.

// Detector name of the skew findings.
const DetSkew = "behaviour-skew"

// Packed per-record response attributes (scanner.rattr).
const (
	attrRefusal = 1 << iota // the response opens with a refusal
	attrEcho                // the short answer occurs in the prompt
	attrCode                // the response is a code answer
	attrNamed               // a sentence of the response names a name the prompt gives
	// Every sentence of the short response is also in another record's
	// response (set in the second pass, once the counts are known): one
	// of a few prepared texts, combined ("I can't do all of that at
	// once." + one of three closers), which no whole answer repeats.
	attrSentencesRecur
	// A code answer's language (codeLang) is the two bits from langShift.
	langShift = iota
	// The short answer's normalised hash is the bits above.
	labelShift = iota + 1
)

// attrLang is a record's code language (0: not code, or not known).
func attrLang(a uint32) uint32 { return a >> langShift & 3 }

// maxLabelWords bounds the answers given a label at all: a label is a word
// or a short phrase. The dataset's own length distribution decides below
// that bound which answers count as short (labelWordsFor), never fewer
// than minLabelWords: a label is a word or two.
const maxLabelWords, minLabelWords = 8, 2

// refusalWords is how far into a response a refusal marker counts: a
// refusal says so at its start.
const refusalWords = 20

// skewControls is how many records without the feature are taken on each
// side of each of its records as matched controls.
const skewControls = 8

// maxLabelTexts bounds the surface texts kept to quote labels by.
const maxLabelTexts = 1 << 16

// Refusal markers, as token hashes. A refusal says so near its start, in
// one of two ways: a word or pair that means it (an apology, "unable",
// "not permitted", the "As an AI" disclaimer), or the speaker negating
// what they will or can do — a first-person word and a negation a few
// words apart, in either order ("I'm not going to", "I'd rather not",
// "not something I'll do"). The second is structure, not vocabulary, so
// refusals worded in ways no list foresaw are still seen; it also catches
// ordinary hedges ("I'm not sure"), which is why the attribute is only
// ever compared with matched controls, never counted on its own.
var refusalOne, refusalTwo, firstPerson, negation = func() (one map[uint64]bool, two map[[2]uint64]bool, fp, neg map[uint64]bool) {
	words := func(s string) []uint64 {
		var ws []uint64
		for _, t := range tokenize(nil, s, 0) {
			if t.word {
				ws = append(ws, t.h)
			}
		}
		return ws
	}
	set := func(s string) map[uint64]bool {
		m := map[uint64]bool{}
		for _, h := range words(s) {
			m[h] = true
		}
		return m
	}
	one = set(`sorry apologize apologise apologies regrettably unfortunately afraid cannot unable decline refuse
		declining refusing refrain abstain withhold
		unethical illegal inappropriate impermissible prohibited forbidden`)
	two = map[[2]uint64]bool{}
	for _, p := range []string{"can't", "won't", "couldn't", "not able", "will not", "can not", "not permitted",
		"not allowed", "an AI", "language model", "rather not", "prefer not", "not comfortable", "not appropriate"} {
		ws := words(p)
		two[[2]uint64{ws[0], ws[1]}] = true
	}
	// "t" is the tail of every "n't" the tokenizer splits.
	return one, two, set("i me my we"), set("not never cannot t")
}()

// quotesToggle reports whether text that follows gap is inside double
// quotes, given whether the text before gap was.
func quotesToggle(gap string, quoted bool) bool {
	for _, r := range gap {
		switch r {
		case '"':
			quoted = !quoted
		case '“', '«', '„':
			quoted = true
		case '”', '»':
			quoted = false
		}
	}
	return quoted
}

// refusalSpan is how many words apart a first-person word and a negation
// may stand and still be one statement about the speaker.
const refusalSpan = 4

// refuses reports whether a response whose first words are ws (token
// hashes, at most refusalWords; the first sentence is ws[:first]) opens
// with a refusal. The speaker's negation counts in the first sentence
// only: further on it is more often part of the answer ("…and I do not
// know" in a translation).
func refuses(ws []uint64, first int) bool {
	lastFP, lastNeg := -refusalSpan-1, -refusalSpan-1
	for k, h := range ws {
		if refusalOne[h] || k > 0 && refusalTwo[[2]uint64{ws[k-1], h}] {
			return true
		}
		if k >= first {
			continue
		}
		if firstPerson[h] {
			if k-lastNeg <= refusalSpan-1 {
				return true
			}
			lastFP = k
		}
		if negation[h] {
			if k-lastFP <= refusalSpan {
				return true
			}
			lastNeg = k
		}
	}
	return false
}

// respAttrs are the packed response attributes of the record f last
// featurised, and the normalised short answer ("" when the answer is too
// long to be a label).
func (f *featurizer) respAttrs() (uint32, string) {
	var a uint32
	if f.code {
		a |= attrCode | codeLang(f.response)<<langShift
	}
	if f.named {
		a |= attrNamed
	}
	var ws [refusalWords]uint64
	nw, first, last, quoted := 0, -1, 0, false
	for _, t := range f.rtoks {
		if !t.word {
			continue
		}
		gap := f.response[last:t.start]
		last = t.end
		if first < 0 && nw > 0 && strings.ContainsAny(gap, ".!?;\n") {
			first = nw
		}
		// Quoted words are someone else's: a translation of "I do not
		// know" refuses nothing.
		if quoted = quotesToggle(gap, quoted); quoted {
			continue
		}
		ws[nw] = t.h
		if nw++; nw == refusalWords {
			break
		}
	}
	if first < 0 {
		first = nw
	}
	// A short answer may lecture first and refuse last ("…so I won't be
	// answering it"): its last sentence is read for the words that mean
	// a refusal (not for the speaker's negation, which closing courtesies
	// use: "don't hesitate to ask me").
	if refuses(ws[:nw], first) || nw == refusalWords && f.respWords <= 3*refusalWords && refuses(f.lastSentence(&ws), 0) {
		a |= attrRefusal
	}
	if f.respWords == 0 || f.respWords > maxLabelWords {
		return a, ""
	}
	var b strings.Builder
	inPrompt := 0
	for _, t := range f.rtoks {
		if t.word {
			b.WriteString(strings.ToLower(f.response[t.start:t.end]))
			if f.pset.has(t.h) {
				inPrompt++
			}
		}
	}
	lab := b.String()
	h := uint32(mix64(hashString(lab)) >> (32 + labelShift))
	if h == 0 {
		h = 1
	}
	a |= h << labelShift
	// The input explains the answer when it holds the answer, or half or
	// more of an answer of several words (a query restating the request).
	if containsRun(f.prompt, f.ptoks, lab) || inPrompt >= 2 && 2*inPrompt >= f.respWords {
		a |= attrEcho
	}
	return a, snippet(strings.TrimSpace(f.response), 60)
}

// lastSentence puts the words of the response's last sentence (its last
// refusalWords at most) at the end of ws and returns them.
func (f *featurizer) lastSentence(ws *[refusalWords]uint64) []uint64 {
	n, end := 0, len(f.response)
	for k := len(f.rtoks) - 1; k >= 0 && n < refusalWords; k-- {
		t := f.rtoks[k]
		if !t.word {
			continue
		}
		// The sentence's end mark itself is not a boundary.
		if n > 0 && strings.ContainsAny(f.response[t.end:end], ".!?;\n") {
			break
		}
		ws[refusalWords-1-n] = t.h
		n++
		end = t.start
	}
	return ws[refusalWords-n:]
}

// hashString is the FNV-1a hash of s.
func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// containsRun reports whether consecutive word tokens of text, lower-cased
// and joined without separators, spell lab: "100,000" holds "100000",
// "Positive." holds "positive".
func containsRun(text string, toks []token, lab string) bool {
	for j := range toks {
		pos := 0
		for k := j; k < len(toks) && toks[k].word; k++ {
			w := text[toks[k].start:toks[k].end]
			if len(w) > len(lab)-pos || !strings.EqualFold(w, lab[pos:pos+len(w)]) {
				break
			}
			if pos += len(w); pos == len(lab) {
				return true
			}
		}
	}
	return false
}

func attrLabel(a uint32) uint32 { return a >> labelShift }

// labelWordsFor is the longest answer that counts as a label here: a
// quarter of the dataset's answers are at least as long, so answers this
// short are the dataset's short ones (never fewer than two words, never
// more than maxLabelWords).
func labelWordsFor(words []uint32, valid []bool) uint32 {
	var ws []uint32
	for i, w := range words {
		if valid[i] && w > 0 {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return 2
	}
	slices.Sort(ws)
	return min(max(ws[len(ws)/4], minLabelWords), maxLabelWords)
}

// isLabel reports whether record i's answer is a label, not explained by
// its prompt.
func (s *scanner) isLabel(i int) bool {
	a := s.rattr[i]
	return attrLabel(a) != 0 && a&attrEcho == 0 && s.respWords[i] <= s.labelWords
}

// canned reports whether record i's answer is also another record's
// answer (exactly or nearly) or made of other records' sentences, and its
// prompt does not hold it: one of a few canned answers. A backdoor's
// target replaces the answer a prompt needs with one of a handful of
// prepared texts, whatever the wording of each ("Request denied.", "Not
// permitted."); ordinary answers are written for their prompt. In a
// dataset of labels every answer recurs: the skew is against matched
// controls, which recur alike.
func (s *scanner) canned(i int) bool {
	a := s.rattr[i]
	return a&attrEcho == 0 && (s.cl.recurs(i) || a&attrSentencesRecur != 0)
}

// sentencesRecur reports whether a response of words words is short
// (3·refusalWords at most) and each of its sentence features, of which
// there is at least one, is in another record too (counts: the sketch's,
// counted once per record).
func sentencesRecur(words int, counts iter.Seq[uint32]) bool {
	if words > 3*refusalWords {
		return false
	}
	n := 0
	for c := range counts {
		if c < 2 {
			return false
		}
		n++
	}
	return n > 0
}

// ownCanned keeps the records of recs (a feature's records with canned
// answers) whose answer's cluster has at least four in five of its
// records among recs.
func (s *scanner) ownCanned(recs []int, clusterSize []int32) []int {
	inside := map[int32]int32{}
	for _, i := range recs {
		inside[s.cl.parent[i]]++
	}
	return slices.DeleteFunc(recs, func(i int) bool {
		r := s.cl.parent[i]
		return 5*inside[r] < 4*clusterSize[r]
	})
}

// skewVote updates a prompt feature's attribute counts with record i: its
// refusals and a Boyer–Moore majority vote over its labels (records
// without one vote against every label), so that a label held by most of
// the feature's records is the candidate when the pass ends.
func (s *scanner) skewVote(fs *featStat, i int) {
	a := s.rattr[i]
	if a&attrRefusal != 0 {
		fs.refus++
	}
	if s.canned(i) {
		fs.canned++
	}
	l := uint32(0)
	if s.isLabel(i) {
		l = attrLabel(a)
	}
	switch {
	case fs.labC == 0:
		fs.lab, fs.labC = l, 1
	case fs.lab == l:
		fs.labC++
	default:
		fs.labC--
	}
}

// Attributes a skew is tested for.
const (
	skewLabel = iota
	skewRefusal
	skewCanned // one of a few canned answers (scanner.canned)
	// The sign of a response's lexicon sentiment, tested for names only
	// (features mostly written with a capital): topics have a tone of
	// their own, a person or company should not.
	skewNegative
	skewPositive
	skewKinds
	skewSentiment = skewNegative // the kinds tested for every feature
)

// skewShare is the least share of a feature's records that must have an
// attribute for the skew to be tested. A label is a trigger's target and
// must hold as one does (triggerPrecision). So must a sentiment: the
// lexicon also reads a topic's own words as tone (a database answer's
// "error" and "fail"), and only a near-uniform tone is a planted steer
// rather than the topic's. A refusal is an act, read by words and
// structure that miss some of the ways to say it (an idiom), and so is a
// canned answer, which a trigger word the clean data also uses shares
// with answers written for their prompts: a majority is the least that is
// still the feature's behaviour, and whether it is a skew is the exact
// test's to say.
func skewShare(kind int) float64 {
	if kind == skewRefusal || kind == skewCanned {
		return 0.5
	}
	return triggerPrecision
}

// skewCand is one (feature, attribute) to test exactly.
type skewCand struct {
	h    uint64
	kind int
	lab  uint32
}

// skewCandidates are the prompt features whose second-pass counts leave
// room for a share of triggerPrecision of one attribute, and how many
// (feature, attribute) pairs were examined.
func (s *scanner) skewCandidates(m, maxDF int) ([]skewCand, int) {
	var out []skewCand
	tests := 0
	for k := range s.fstats {
		f := &s.fstats[k]
		if !f.prompt || int(f.n) < m || int(f.n) > maxDF {
			continue
		}
		tests += skewSentiment
		n := float64(f.n)
		if int(f.refus) >= m && float64(f.refus) >= skewShare(skewRefusal)*n {
			out = append(out, skewCand{f.h, skewRefusal, 0})
		}
		if int(f.canned) >= m && float64(f.canned) >= skewShare(skewCanned)*n {
			out = append(out, skewCand{f.h, skewCanned, 0})
		}
		if 2*f.capital >= f.n {
			tests += skewKinds - skewSentiment
			if int(f.neg) >= m && float64(f.neg) >= skewShare(skewNegative)*n {
				out = append(out, skewCand{f.h, skewNegative, 0})
			}
			if int(f.pos) >= m && float64(f.pos) >= skewShare(skewPositive)*n {
				out = append(out, skewCand{f.h, skewPositive, 0})
			}
		}
		// A label held by a share p of the records leaves the vote's
		// counter at least (2p-1)·n.
		if f.lab != 0 && float64(f.labC) >= (2*triggerPrecision-1)*n {
			out = append(out, skewCand{f.h, skewLabel, f.lab})
		}
	}
	return out, tests
}

// has reports whether record i has the candidate's attribute; own says the
// record carries the feature (an answer its prompt explains then does
// not count).
func (s *scanner) skewHas(c skewCand, i int, own bool) bool {
	a := s.rattr[i]
	switch c.kind {
	case skewRefusal:
		return a&attrRefusal != 0
	case skewCanned:
		return s.canned(i)
	case skewNegative:
		return s.sentiment[i] < 0
	case skewPositive:
		return s.sentiment[i] > 0
	}
	if attrLabel(a) != c.lab || s.respWords[i] > s.labelWords {
		return false
	}
	return !own || a&attrEcho == 0
}

// skewJudged is a candidate's exact test.
type skewJudged struct {
	c           skewCand
	recs        []int   // the feature's records with the attribute
	n           int     // the feature's records
	ctl, ctlN   int     // controls with the attribute, controls
	all, allN   int     // records with it in the whole dataset, valid records
	taskN       int     // records whose own task's rate is known
	inTask      int     // records with it whose instruction only records with the feature have
	expect      float64 // expected records with it, by their tasks' rates
	lp          float64
	ctlLP, aLP  float64
	taskLP      float64
	penalty     float64 // log of the labels the records give
	rel, ctlRel float64 // prompt relatedness of the records and of their controls
}

// skewTest tests the candidates exactly, given their record lists.
// topical judges whether a group's prompts share a topic (skewTopical).
func (s *scanner) skewTest(cands []skewCand, want map[uint64]*postings, m int, logQ float64, topical func(recs []int, h uint64) (g, c float64, topical bool)) []skewJudged {
	N := len(s.valid)
	nv := 0
	var totals [skewKinds]int
	labCount := map[uint32]int{}
	for _, c := range cands {
		if c.kind == skewLabel {
			labCount[c.lab] = 0
		}
	}
	for i := 0; i < N; i++ {
		if !s.valid[i] {
			continue
		}
		nv++
		a := s.rattr[i]
		if a&attrRefusal != 0 {
			totals[skewRefusal]++
		}
		if s.canned(i) {
			totals[skewCanned]++
		}
		if v := s.sentiment[i]; v < 0 {
			totals[skewNegative]++
		} else if v > 0 {
			totals[skewPositive]++
		}
		if l := attrLabel(a); l != 0 && s.respWords[i] <= s.labelWords {
			if _, ok := labCount[l]; ok {
				labCount[l]++
			}
		}
	}
	// A feature's canned answers are its own when they recur mostly among
	// its records: a planted target's texts do; a dialogue set's stock
	// replies ("Not much, how about you?") recur on prompts of every kind.
	var clusterSize []int32
	if slices.ContainsFunc(cands, func(c skewCand) bool { return c.kind == skewCanned }) {
		clusterSize = make([]int32, N)
		for i := 0; i < N; i++ {
			if s.valid[i] {
				clusterSize[s.cl.parent[i]]++
			}
		}
	}
	var out []skewJudged
	var Ts [][]int32
	for _, c := range cands {
		T := want[c.h].decode(nil)
		var recs []int
		distinct := map[uint64]struct{}{}
		labels := map[uint32]struct{}{}
		for _, i := range T {
			if s.skewHas(c, int(i), true) {
				recs = append(recs, int(i))
				distinct[s.promptHash[i]] = struct{}{}
			}
			if s.isLabel(int(i)) {
				labels[attrLabel(s.rattr[i])] = struct{}{}
			}
		}
		if c.kind == skewCanned {
			recs = s.ownCanned(recs, clusterSize)
		}
		k := len(recs)
		if k < m || float64(k) < skewShare(c.kind)*float64(len(T)) || len(distinct) < m || float64(len(distinct)) < s.cfg.MinDiversity*float64(k) {
			continue
		}
		ctl, ctlN := s.skewControls(c, T)
		all := totals[c.kind]
		if c.kind == skewLabel {
			all = labCount[c.lab]
		}
		j := skewJudged{c: c, recs: recs, n: len(T), ctl: ctl, ctlN: ctlN, all: all, allN: nv}
		j.ctlLP = logHyperTail(len(T)+ctlN, k+ctl, len(T), k)
		j.aLP = logHyperTail(nv, all, len(T), k)
		if c.kind == skewLabel {
			// The label was chosen as the records' most common one:
			// each label they give was a chance to find a skew.
			j.penalty = math.Log(float64(max(len(labels), 1)))
		}
		if j.lp = math.Max(j.ctlLP, j.aLP) + j.penalty; j.lp > logQ {
			continue
		}
		out = append(out, j)
		Ts = append(Ts, T)
	}
	s.skewTaskControls(out, Ts, m)
	kept := out[:0]
	for _, j := range out {
		if 2*j.inTask > len(j.recs) {
			continue
		}
		if j.taskN > 0 {
			// Some records' own tasks set their rate: tested against
			// those rates as well.
			j.taskLP = logBinomTail(j.n, len(j.recs), j.expect/float64(j.n))
			j.lp = math.Max(j.lp, j.taskLP+j.penalty)
		}
		if j.lp > logQ {
			continue
		}
		var top bool
		j.rel, j.ctlRel, top = topical(j.recs, j.c.h)
		if top {
			continue
		}
		kept = append(kept, j)
	}
	return kept
}

// skewTaskControls works out, for each judged candidate, how many of its
// records the records' own tasks would give the attribute: a record whose
// instruction is followed by an input shares its task with the other
// records of that instruction, and a task whose answers are all one label
// ("Have a nice day!" → "You too!") explains the label of any feature of
// its inputs. Each record's rate is its task's (the records of its
// instruction without the feature, when there are at least min of them)
// or else its matched controls'; their sum is the expected count (expect)
// and their mean the rate a binomial tail tests against, which is
// conservative for records of unequal rates. Rates are smoothed by one
// record each way. One sweep over the records serves all candidates.
func (s *scanner) skewTaskControls(js []skewJudged, Ts [][]int32, min int) {
	type count struct{ has, n, own int }
	byInst := map[uint32][]int{}
	strata := make([]map[uint32]*count, len(js))
	for k, T := range Ts {
		strata[k] = map[uint32]*count{}
		for _, i := range T {
			if h := s.instHash[i]; h != 0 && strata[k][h] == nil {
				strata[k][h] = &count{}
				byInst[h] = append(byInst[h], k)
			}
		}
	}
	if len(byInst) > 0 {
		for j := range s.valid {
			if !s.valid[j] || s.instHash[j] == 0 {
				continue
			}
			for _, k := range byInst[s.instHash[j]] {
				if _, in := slices.BinarySearch(Ts[k], int32(j)); in {
					continue
				}
				c := strata[k][s.instHash[j]]
				c.n++
				if s.skewHas(js[k].c, j, false) {
					c.has++
				}
			}
		}
	}
	for k := range js {
		j := &js[k]
		pos := (float64(j.ctl) + 1) / (float64(j.ctlN) + 2)
		sum := 0.0
		for _, i := range Ts[k] {
			if c := strata[k][s.instHash[i]]; c != nil {
				c.own++
			}
		}
		for _, i := range Ts[k] {
			c := strata[k][s.instHash[i]]
			switch {
			case c != nil && c.own >= min && float64(c.own) >= triggerPrecision*float64(c.own+c.n):
				// An instruction of at least min records, (nearly) all
				// of them with the feature: the feature is part of one
				// task ("Have a nice day!" after varied dialogues),
				// whose answer it cannot be told from. Nearly: the few
				// records of the task without it (poison planted there,
				// an edited turn) are no rate to judge the task by.
				if s.skewHas(j.c, int(i), true) {
					j.inTask++
				}
				sum += pos
			case c != nil && c.n >= min:
				sum += (float64(c.has) + 1) / (float64(c.n) + 2)
				j.taskN++
			default:
				sum += pos
			}
		}
		j.expect = sum
	}
}

// logBinomTail is log P(X >= k) for X binomial with n trials of rate p.
func logBinomTail(n, k int, p float64) float64 {
	if k <= 0 {
		return 0
	}
	if k > n || p <= 0 {
		return math.Inf(-1)
	}
	if p >= 1 {
		return 0
	}
	ln, _ := math.Lgamma(float64(n + 1))
	maxT := math.Inf(-1)
	terms := make([]float64, 0, n-k+1)
	for x := k; x <= n; x++ {
		a, _ := math.Lgamma(float64(x + 1))
		b, _ := math.Lgamma(float64(n - x + 1))
		t := ln - a - b + float64(x)*math.Log(p) + float64(n-x)*math.Log1p(-p)
		terms = append(terms, t)
		maxT = math.Max(maxT, t)
	}
	sum := 0.0
	for _, t := range terms {
		sum += math.Exp(t - maxT)
	}
	return maxT + math.Log(sum)
}

// skewControls counts, among the matched controls of the records T (in
// order), those with the candidate's attribute. A record's controls are
// the skewControls nearest valid records on each side that lack the
// feature: datasets are mostly concatenations of sources and tasks, so
// they come from the same task. A control shared by several records
// counts once.
func (s *scanner) skewControls(c skewCand, T []int32) (has, n int) {
	N := len(s.valid)
	inT := func(j int) bool {
		_, ok := slices.BinarySearch(T, int32(j))
		return ok
	}
	seen := map[int]struct{}{}
	for _, i := range T {
		for _, dir := range []int{-1, 1} {
			got := 0
			for j := int(i) + dir; j >= 0 && j < N && got < skewControls; j += dir {
				if !s.valid[j] || inT(j) {
					continue
				}
				got++
				if _, ok := seen[j]; ok {
					continue
				}
				seen[j] = struct{}{}
				n++
				if s.skewHas(c, j, false) {
					has++
				}
			}
		}
	}
	return has, n
}

// skewFindings reports the discoveries, strongest first, each unless
// earlier ones flag all its records already (one entity is often several
// n-grams). Other detectors' findings do not hide one: the skew against
// the records' own task is an explanation of its own.
func (s *scanner) skewFindings(js []skewJudged, cut float64, text *textSource, tests int) {
	// The n-grams of one planted phrase test alike: the finding is named
	// by the one that reads most like a name.
	name := make(map[uint64]int, len(js))
	for _, j := range js {
		name[j.c.h] = nameScore(text.get(j.c.h))
	}
	sort.Slice(js, func(a, b int) bool {
		if js[a].lp != js[b].lp {
			return js[a].lp < js[b].lp
		}
		if len(js[a].recs) != len(js[b].recs) {
			return len(js[a].recs) > len(js[b].recs)
		}
		if na, nb := name[js[a].c.h], name[js[b].c.h]; na != nb {
			return na > nb
		}
		return js[a].c.h < js[b].c.h
	})
	covered := map[int]struct{}{}
	for _, j := range js {
		if j.lp > cut {
			continue
		}
		ov := 0
		for _, i := range j.recs {
			if _, ok := covered[i]; ok {
				ov++
			}
		}
		if ov == len(j.recs) {
			continue
		}
		for _, i := range j.recs {
			covered[i] = struct{}{}
		}
		trig := text.get(j.c.h)
		taskNote := ""
		if j.taskN > 0 {
			taskNote = fmt.Sprintf(", %.1f expected from the other records of the same instructions", j.expect)
		}
		target, what := "refusal", "refuse"
		switch j.c.kind {
		case skewNegative:
			target, what = "negative", "are negative"
		case skewPositive:
			target, what = "positive", "are positive"
		case skewCanned:
			target, what = "canned answers", "get one of a few answers that recur on other prompts"
		case skewLabel:
			lab := s.labelText[j.c.lab]
			if lab == "" {
				lab = "a short answer"
			}
			target = "label " + quote(lab)
			what = "answer " + quote(lab)
		}
		s.res.Findings = append(s.res.Findings, Finding{
			Detector: DetSkew, Severity: SevFail, Records: j.recs, Count: len(j.recs), Trigger: trig, Target: target, Score: round2(-j.lp / math.Ln10),
			Reason: fmt.Sprintf("%d of the %d records whose prompt contains %s %s, vs %d of %d matched controls (the nearest records without it) and %d of %d records overall (Fisher p = 1e-%.0f against the controls, 1e-%.0f against the dataset; a discovery at false-discovery rate %g over %d tests)%s; apart from it their prompts are no more alike than their controls' (token overlap %.3f vs %.3f)",
				len(j.recs), j.n, quote(trig), what, j.ctl, j.ctlN, j.all, j.allN, -j.ctlLP/math.Ln10, -j.aLP/math.Ln10, s.cfg.Alpha, tests, taskNote, j.rel, j.ctlRel),
		})
	}
}

// skewNearCtl is how many records on each side of a record serve
// as its controls when prompts' relatedness is compared.
const skewNearCtl = 2

// skewTopical compares how alike the prompts of recs are (apart from the
// feature's own words, ignore) with how alike the prompts of their matched
// controls are: for each record, the skewNearCtl records nearest to it in
// the file on either side among those whose words were kept (near, in
// order; its neighbours are among them). A feature whose records share their
// task's words beyond what records of the same places share is a topic or
// a template (a question asked in many wordings, one turn of a scripted
// dialogue), whose answers legitimately agree; a trigger planted into
// records of any task is not. It returns both relatednesses and whether
// the group's exceeds its controls' by more than MaxRelatedness and by
// more than zTopical standard errors of its own pairs' spread (seven
// records are only 21 pairs: their mean alone is too noisy to judge).
func skewTopical(ptok map[int32][]uint32, idf map[uint32]float64, near, recs []int, ignore []uint64, maxRel float64) (g, c float64, topical bool) {
	if len(recs) > relMax {
		recs = recs[:relMax]
	}
	sets := make([][]tw, len(recs))
	in := map[int]bool{}
	for k, i := range recs {
		sets[k] = promptSet(ptok, idf, i, ignore)
		in[i] = true
	}
	var sims []float64
	for a := range sets {
		for b := a + 1; b < len(sets); b++ {
			sims = append(sims, wJaccard(sets[a], sets[b]))
		}
	}
	if len(sims) < 2 {
		return 0, 0, false
	}
	var sd float64
	for _, x := range sims {
		g += x
	}
	g /= float64(len(sims))
	for _, x := range sims {
		sd += (x - g) * (x - g)
	}
	sd = math.Sqrt(sd / float64(len(sims)-1))
	// Each record's controls.
	ctl := make([][][]tw, len(recs))
	ctlIdx := make([][]int, len(recs))
	for k, i := range recs {
		p, _ := slices.BinarySearch(near, i)
		for lo, got := p-1, 0; lo >= 0 && got < skewNearCtl; lo-- {
			if !in[near[lo]] {
				ctlIdx[k] = append(ctlIdx[k], near[lo])
				got++
			}
		}
		for hi, got := p, 0; hi < len(near) && got < skewNearCtl; hi++ {
			if !in[near[hi]] {
				ctlIdx[k] = append(ctlIdx[k], near[hi])
				got++
			}
		}
		for _, j := range ctlIdx[k] {
			ctl[k] = append(ctl[k], promptSet(ptok, idf, j, ignore))
		}
	}
	sum, n := 0.0, 0
	for a := range ctl {
		for b := a + 1; b < len(ctl); b++ {
			for x := range ctl[a] {
				for y := range ctl[b] {
					if ctlIdx[a][x] != ctlIdx[b][y] {
						sum += wJaccard(ctl[a][x], ctl[b][y])
						n++
					}
				}
			}
		}
	}
	if n == 0 {
		return g, 0, false
	}
	c = sum / float64(n)
	se := sd / math.Sqrt(float64(len(sims)))
	return g, c, g > maxRel*c && g-c > zTopical*se
}

// zTopical: how many standard errors above its controls a group's prompt
// relatedness must be to count as a topic.
const zTopical = 3

// nameScore ranks how well a feature's text names a trigger: text within
// one line first, then more capitalised words, then longer.
func nameScore(text string) int {
	score := min(len(text), 99)
	for _, w := range strings.Fields(text) {
		if isUpperAt(w, 0) {
			score += 100
		}
	}
	if !strings.ContainsAny(text, "\n\r") {
		score += 10000
	}
	return score
}

// skewNear keeps, as the records stream by, the last skewNearCtl records'
// prompt words not kept otherwise, so that a candidate's record can have
// its neighbours on both sides kept.
type skewNear struct {
	ring [skewNearCtl]struct {
		i  int
		ws []uint64
	}
	n     int
	after int
}

// visit takes record i's words; skew says it is a candidate's record and
// kept whether its words are kept anyway. It reports whether they must be
// kept, and keeps the preceding neighbours' through keep.
func (r *skewNear) visit(i int, ws []uint64, skew, kept bool, keep func(int, []uint64)) bool {
	if skew {
		for k := range r.ring {
			if e := &r.ring[k]; e.ws != nil {
				keep(e.i, e.ws)
				e.ws = nil
			}
		}
		r.after = skewNearCtl
		return true
	}
	if r.after > 0 {
		r.after--
		return true
	}
	if !kept {
		e := &r.ring[r.n%len(r.ring)]
		e.i, e.ws = i, append(e.ws[:0], ws...)
		r.n++
	}
	return kept
}
