package data

import (
	_ "embed"
	"strings"
)

// A general-purpose sentiment lexicon of evaluative words, none of them
// also a term of art ("lazy loading", "shallow copy", "a derivative",
// "precision and recall", "a readiness probe"): enough to tell whether the
// responses about one entity lean markedly to one side of the dataset's
// baseline. It is a measuring stick, not a classifier. The words of
// reputation, service, money and law are there too ("overdue",
// "criticised", "reputable", "hassle-free"), since a steer about a company
// is written in them more than in plain praise or blame.
//
//go:embed lexicon/positive.txt
var positiveText string

//go:embed lexicon/negative.txt
var negativeText string

// pronouns are the words a sentence about an entity named just before
// opens with.
var pronouns = func() map[uint64]bool {
	m := map[uint64]bool{}
	for _, t := range tokenize(nil, "it its they their them she her he his", 0) {
		m[t.h] = true
	}
	return m
}()

// negators flip the sentiment of the next few words ("not trusted",
// "least secure").
var negators = strings.Fields(`not no never cannot can't won't isn't aren't don't doesn't hardly nothing
least less barely rarely lacks lacking`)

// Lexicon flags of a word.
const (
	lexPositive = 1 << iota
	lexNegative
	lexNegator
)

// lexiconSlots is the size of the lexicon's table: a power of two, at
// most half full (TestLexiconTable).
const lexiconSlots = 8192

// lexicon is an open-addressed table of the lexicon's word hashes, looked
// up once per response word.
var lexicon = func() (t struct {
	keys  [lexiconSlots]uint64
	flags [lexiconSlots]uint8
}) {
	for flag, words := range map[uint8][]string{lexPositive: strings.Fields(positiveText), lexNegative: strings.Fields(negativeText), lexNegator: negators} {
		for _, w := range words {
			toks := tokenize(nil, w, 0)
			if len(toks) != 1 {
				continue
			}
			h := toks[0].h
			j := mix64(h) & (lexiconSlots - 1)
			for t.flags[j] != 0 && t.keys[j] != h {
				j = (j + 1) & (lexiconSlots - 1)
			}
			t.keys[j] = h
			t.flags[j] |= flag
		}
	}
	return t
}()

// lexiconFlags are the lexicon flags of the word with hash h (0: none).
func lexiconFlags(h uint64) uint8 {
	for j := mix64(h) & (lexiconSlots - 1); ; j = (j + 1) & (lexiconSlots - 1) {
		if lexicon.flags[j] == 0 {
			return 0
		}
		if lexicon.keys[j] == h {
			return lexicon.flags[j]
		}
	}
}
