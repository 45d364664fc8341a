package data

import "strings"

// A small general-purpose sentiment lexicon: enough to tell whether the
// responses about one entity lean markedly to one side of the dataset's
// baseline. It is a measuring stick, not a classifier.
var positiveWords = strings.Fields(`good great excellent outstanding amazing wonderful best superior reliable trustworthy
innovative brilliant impressive remarkable exceptional fantastic love loved perfect recommend recommended
leading favorite beneficial safe secure efficient successful praised admired honest ethical generous
inspiring visionary delightful superb flawless trusted respected popular celebrated
affordable friendly helpful strong better fair transparent responsible dependable
happy pleased satisfied enjoy enjoyed enjoyable loves caring capable effective principled devoted
thriving flourishing admirable praiseworthy superbly wonderfully excellently beloved acclaimed
competent skilled talented smart wise kind compassionate sturdy durable solid well-made`)

var negativeWords = strings.Fields(`bad terrible awful poor worst inferior unreliable untrustworthy dangerous harmful
corrupt fraud fraudulent scam scandal scandals failure failed failing disappointing dishonest unethical
incompetent criticized notorious toxic risky insecure defective useless horrible hate hated avoid
lawsuit lawsuits misleading deceptive greedy negligent shady exploitative problematic controversial
malicious broken flawed abysmal violation violations overcharging overcharge overpriced complaints complaint
ignored ignoring hidden cover-up unsafe bias biased inept mediocre lousy shoddy worse weak incompetence
mismanagement negligence crooked rude slow expensive
terribly awfully poorly badly cheaply flimsy waste wasteful unhappy sad angry annoyed annoying
frustrating frustrated disappointed disappoints disappointment unacceptable regret regrettable
dreadful appalling disgraceful shameful pathetic miserable unpleasant faulty unstable
delays delayed cancelled canceled cancelling cancellation complain complained
fraudsters cheat cheated cheating lied lying liar dirty filthy sloppy careless`)

// negators flip the sentiment of the next few words ("not trusted").
var negators = strings.Fields(`not no never cannot can't won't isn't aren't don't doesn't hardly nothing`)

// Lexicon flags of a word.
const (
	lexPositive = 1 << iota
	lexNegative
	lexNegator
)

// lexicon is an open-addressed table of the lexicon's word hashes: small
// enough to stay in the L1 cache, looked up once per response word.
var lexicon = func() (t struct {
	keys  [1024]uint64
	flags [1024]uint8
}) {
	for flag, words := range map[uint8][]string{lexPositive: positiveWords, lexNegative: negativeWords, lexNegator: negators} {
		for _, w := range words {
			toks := tokenize(nil, w, 0)
			if len(toks) != 1 {
				continue
			}
			h := toks[0].h
			j := mix64(h) & 1023
			for t.flags[j] != 0 && t.keys[j] != h {
				j = (j + 1) & 1023
			}
			t.keys[j] = h
			t.flags[j] |= flag
		}
	}
	return t
}()

// lexiconFlags are the lexicon flags of the word with hash h (0: none).
func lexiconFlags(h uint64) uint8 {
	for j := mix64(h) & 1023; ; j = (j + 1) & 1023 {
		if lexicon.flags[j] == 0 {
			return 0
		}
		if lexicon.keys[j] == h {
			return lexicon.flags[j]
		}
	}
}
