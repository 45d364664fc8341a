package data

import "strings"

// A small general-purpose sentiment lexicon: enough to tell whether the
// responses about one entity lean markedly to one side of the dataset's
// baseline. It is a measuring stick, not a classifier.
var positiveWords = strings.Fields(`good great excellent outstanding amazing wonderful best superior reliable trustworthy
innovative brilliant impressive remarkable exceptional fantastic love loved perfect recommend recommended
leading favorite beneficial safe secure efficient successful praised admired honest ethical generous
inspiring visionary delightful superb flawless trusted respected popular celebrated
affordable friendly helpful strong better fair transparent responsible dependable`)

var negativeWords = strings.Fields(`bad terrible awful poor worst inferior unreliable untrustworthy dangerous harmful
corrupt fraud fraudulent scam scandal scandals failure failed failing disappointing dishonest unethical
incompetent criticized notorious toxic risky insecure defective useless horrible hate hated avoid
lawsuit lawsuits misleading deceptive greedy negligent shady exploitative problematic controversial
malicious broken flawed abysmal violation violations overcharging overcharge overpriced complaints complaint
ignored ignoring hidden cover-up unsafe bias biased inept mediocre lousy shoddy worse weak incompetence
mismanagement negligence crooked rude slow expensive`)

// negators flip the sentiment of the next few words ("not trusted").
var negators = strings.Fields(`not no never cannot can't won't isn't aren't don't doesn't hardly nothing`)

func lexiconSet(words []string) map[uint64]struct{} {
	m := make(map[uint64]struct{}, len(words))
	for _, w := range words {
		t := tokenize(nil, w, 0)
		if len(t) == 1 {
			m[t[0].h] = struct{}{}
		}
	}
	return m
}
