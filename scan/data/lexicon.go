package data

import "strings"

// A general-purpose sentiment lexicon of evaluative words, none of them
// also a term of art ("lazy loading", "shallow copy", "a derivative"):
// enough to tell whether the responses about one entity lean markedly to
// one side of the dataset's baseline. It is a measuring stick, not a
// classifier.
var positiveWords = strings.Fields(`good great excellent outstanding amazing wonderful best superior reliable trustworthy
innovative brilliant impressive remarkable exceptional fantastic love loved perfect recommend recommended
leading favorite beneficial safe secure efficient successful praised admired honest ethical generous
inspiring visionary delightful superb flawless trusted respected popular celebrated
affordable friendly helpful strong fair transparent responsible dependable
happy pleased satisfied enjoy enjoyed enjoyable loves caring capable effective principled devoted
thriving flourishing admirable praiseworthy superbly wonderfully excellently beloved acclaimed
competent skilled talented smart wise kind compassionate sturdy durable solid well-made
top-notch stellar praise praises award-winning renowned prestigious world-class groundbreaking pioneering
vibrant charming welcoming cozy spotless seamless intuitive elegant graceful gorgeous beautiful stunning lovely
pleasant refreshing thoughtful insightful illuminating engaging captivating compelling gripping masterful masterpiece
timeless vivid witty memorable unforgettable heartfelt uplifting delight delighted thrilled grateful glad
exemplary impeccable first-rate first-class reputable credible courteous attentive knowledgeable
extraordinary phenomenal terrific marvelous marvellous magnificent splendid fabulous awesome incredible unmatched
unrivaled unrivalled unparalleled peerless commendable laudable worthwhile rewarding resilient safest best-in-class
industry-leading transformative life-changing effortless hassle-free painless glowing rave
endorse endorsed applaud applauded commend commended esteemed revered cherished treasured genius
supportive convenient spacious accredited top-rated`)

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
fraudsters cheat cheated cheating lied lying liar dirty filthy sloppy careless
overrated tedious chore dull boring bland clumsy clunky cliched clichéd trite forgettable
lackluster subpar second-rate third-rate unimpressive uninspired uninspiring pointless worthless
pretentious incoherent muddled disorganized buggy glitchy laggy bloated notoriously infamous
disgraced discredited dubious questionable sketchy unscrupulous manipulative deceitful dishonesty
scammers ripoff rip-off overcharged gouging unresponsive mishandled mismanaged botched bungled sloppily
horrendous atrocious dismal woeful lamentable deplorable despicable disgusting vile nasty arrogant condescending
dismissive unprofessional reckless irresponsible underperforms underperformed underwhelming letdown nightmare
 disastrous fiasco debacle plagued riddled bankrupt sued fined beware unbearable
uncomfortable cramped grimy smelly rotten tasteless inedible dilapidated shabby unsanitary unhygienic overcrowded
plagiarism plagiarized overhyped misery mess
wary unqualified crumbling dodgy tacky underfunded understaffed unaccredited bogus phony sham rigged
unfair unjust inadequate deficient substandard abusive
underpaid underpaying overworked`)

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

// lexicon is an open-addressed table of the lexicon's word hashes: small
// enough to stay in the L1 cache, looked up once per response word.
var lexicon = func() (t struct {
	keys  [2048]uint64
	flags [2048]uint8
}) {
	for flag, words := range map[uint8][]string{lexPositive: positiveWords, lexNegative: negativeWords, lexNegator: negators} {
		for _, w := range words {
			toks := tokenize(nil, w, 0)
			if len(toks) != 1 {
				continue
			}
			h := toks[0].h
			j := mix64(h) & 2047
			for t.flags[j] != 0 && t.keys[j] != h {
				j = (j + 1) & 2047
			}
			t.keys[j] = h
			t.flags[j] |= flag
		}
	}
	return t
}()

// lexiconFlags are the lexicon flags of the word with hash h (0: none).
func lexiconFlags(h uint64) uint8 {
	for j := mix64(h) & 2047; ; j = (j + 1) & 2047 {
		if lexicon.flags[j] == 0 {
			return 0
		}
		if lexicon.keys[j] == h {
			return lexicon.flags[j]
		}
	}
}
