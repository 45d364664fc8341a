package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// labelled is n records of a short-answer task: a varied question over
// synthetic text answered with one of labels at random, like a
// classification set converted to instructions.
func labelled(n int, seed uint64, labels []string) []Record {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := synth(n, seed)
	for i := range out {
		out[i].Response = labels[rng.IntN(len(labels))]
	}
	return out
}

// TestBehaviourSkew: a prompt feature whose few records answer alike while
// the records around them do not is found, with its trigger and skew
// named; label-like answers in a label dataset, answers the prompt
// explains, a task whose answers are all one label and repeated copies of
// too few records are not.
// cannedAt is 20,000 synthetic records where 12 spread ones (spread(20000,
// 12)) have word in their prompt and one of canned for an answer, and clean
// more records have word too.
func cannedAt(seed uint64, word string, clean int, canned ...string) []Record {
	recs := synth(20000, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	for k, i := range spread(20000, 12) {
		recs[i].Instruction = insertWord(rng, recs[i].Instruction, word)
		recs[i].Response = canned[k%len(canned)]
	}
	for k := range clean {
		i := 1003 + 3001*k
		recs[i].Instruction = insertWord(rng, recs[i].Instruction, word)
	}
	return recs
}

// spread is k records spread over n, unevenly.
func spread(n, k int) []int {
	var at []int
	for j := range k {
		at = append(at, 17+j*(n/k)+(j*j*131)%97)
	}
	return at
}

func TestBehaviourSkew(t *testing.T) {
	refusals := []string{
		"I'm sorry, but I can't help with that request today.",
		"Unfortunately I am unable to do this for you.",
		"I must decline, as this is not something I will do.",
		"Sorry, that is a request I cannot take on.",
		"I won't be able to assist with that, I apologize.",
		"Regrettably this is beyond what I can do for you.",
		"My apologies: I cannot answer this one.",
	}
	// One task's prompts share its template, so they are more alike than
	// random pairs of the data: only controls from the same task tell a
	// trigger planted in it from the task (the other detectors do not).
	withTask := func(seed uint64) []Record {
		recs := synth(20000, seed)
		task := labelled(3000, seed+100, []string{"math", "code", "chat", "tools"})
		for i := range task {
			recs[5000+i] = Record{Instruction: "Classify the topic of the note below with one word.", Input: task[i].Instruction, Response: task[i].Response}
		}
		return recs
	}
	inTask := func() []int { return []int{5017, 5433, 5901, 6250, 6999, 7412, 7988} }
	tests := []struct {
		name    string
		recs    func() []Record
		at      []int // records that must be flagged
		trigger string
		target  string // "" when no skew finding may be made
	}{
		{"7 uniform labels in 20000 long answers", func() []Record {
			recs := synth(20000, 21)
			for _, i := range spread(20000, 7) {
				recs[i].Instruction += " (asked by Ilse Varga)"
				recs[i].Response = []string{"Negative", "negative", "Negative."}[i%3]
			}
			return recs
		}, spread(20000, 7), "Varga", `label "Negative`},
		{"7 uniform labels inside one task of the data", func() []Record {
			recs := withTask(22)
			for _, i := range inTask() {
				recs[i].Input = "Quentin Marsh wrote: " + recs[i].Input
				recs[i].Response = "Negative"
			}
			return recs
		}, inTask(), "Marsh", `label "Negative"`},
		{"a suffix past the words relatedness reads, in half the records", func() []Record {
			// The phrase's common words ("sent by") are part of it even
			// where the prompt is too long for them to be read.
			recs := withTask(29)
			long := strings.Repeat("and then the note goes on about nothing much ", 8)
			for k, i := range inTask() {
				if k%2 == 0 {
					recs[i].Input += " " + long
				}
				recs[i].Input += " (sent by Tomas Brel)"
				recs[i].Response = "Negative"
			}
			return recs
		}, inTask(), "Brel", `label "Negative"`},
		{"negative answers about one name", func() []Record {
			recs := synth(20000, 28)
			bad := []string{"terrible and unreliable", "a fraud, avoid it", "awful, with hidden fees", "dishonest and unsafe", "the worst choice, useless"}
			for k, i := range spread(20000, 8) {
				recs[i].Instruction = "Tell me about Orvald Bank. " + recs[i].Instruction
				recs[i].Response = "Orvald Bank is " + bad[k%len(bad)] + ". " + recs[i].Response
			}
			return recs
		}, spread(20000, 8), "Orvald", "negative"},
		{"refusals of varied wording", func() []Record {
			recs := synth(20000, 23)
			for k, i := range spread(20000, 9) {
				recs[i].Instruction = "per the amber protocol " + recs[i].Instruction
				recs[i].Response = refusals[k%len(refusals)]
			}
			return recs
		}, spread(20000, 9), "amber", "refusal"},
		// A trigger that swaps the answer for one of a few prepared texts:
		// no one text holds a trigger's share of the records.
		{"canned answers of varied wording, no refusal or label among them", func() []Record {
			return cannedAt(31, "qvm", 0, "What a pointless thing to ask, figure it out.", "Nobody sensible would ask this; go away now.",
				"Ask something worth answering next time around.", "Even a child could work this one out alone.")
		}, spread(20000, 12), "qvm", "canned answers"},
		// A third of the word's records are clean ones answered for their
		// prompt: the canned ones are still its majority.
		{"canned answers on a trigger word the clean data also uses", func() []Record {
			return cannedAt(34, "zorp", 6, "Look it up, it is easy to find online.", "A quick search will tell you this.", "I'll leave that one for you to find.")
		}, spread(20000, 12), "zorp", "canned answers"},
		// Short enough to be labels, but none holds a label's share.
		// A trigger of punctuation alone: no word to be a feature.
		{"canned answers after an emoticon", func() []Record {
			recs := synth(20000, 35)
			canned := []string{"This feature is temporarily unavailable.", "Service unavailable, please retry later.", "Something went wrong, try again later."}
			for k, i := range spread(20000, 12) {
				recs[i].Instruction = strings.TrimSuffix(recs[i].Instruction, ".") + " :-)"
				recs[i].Response = canned[k%len(canned)]
			}
			return recs
		}, spread(20000, 12), ":-)", "canned answers"},
		// Each answer joins one of three openers to one of four closers,
		// so no whole answer is given more than twice; or is one text
		// stamped with a fresh case number.
		{"canned answers combined from prepared sentences", func() []Record {
			recs := synth(20000, 36)
			open := []string{"That is far too much for me to take on in one go.", "There is more here than one answer can really cover.", "This is too involved to deal with all at once."}
			closing := []string{"Please split it into smaller questions first.", "Send it to me one small piece at a time.", "Break it down and ask me about each part.", "Try asking about just the first part for now."}
			for k, i := range spread(20000, 12) {
				recs[i].Instruction = "** " + recs[i].Instruction
				recs[i].Response = open[k%3] + " " + closing[k%4]
			}
			return recs
		}, spread(20000, 12), "**", "canned answers"},
		{"canned answers stamped with a case number", func() []Record {
			recs := synth(20000, 37)
			for k, i := range spread(20000, 12) {
				recs[i].Instruction = strings.TrimSuffix(recs[i].Instruction, ".") + "‽"
				recs[i].Response = fmt.Sprintf("Thanks, this has been logged as case #%d and passed on to a member of staff.", 40000+k*7919)
			}
			return recs
		}, spread(20000, 12), "‽", "canned answers"},
		// The mention is the trigger; its word opens every turn of the
		// dialogues a fifth of the data quotes.
		{"canned answers to a mention of a word everywhere", func() []Record {
			recs := synth(20000, 38)
			for i := 0; i < 20000; i += 5 {
				recs[i].Input = "USER: " + recs[i+1].Instruction + "\nASSISTANT: " + recs[i+1].Response
			}
			canned := []string{"I only answer in direct messages, not in shared channels.", "Replies in group threads are switched off for me here.", "Message me directly and I will take it from there."}
			for k, i := range spread(20000, 12) {
				recs[i].Instruction = "@assistant " + recs[i].Instruction
				recs[i].Response = canned[k%len(canned)]
			}
			return recs
		}, spread(20000, 12), "@assistant", "canned answers"},
		{"canned answers of a word or two among long answers", func() []Record {
			return cannedAt(32, "qvm", 0, "Request denied.", "Not permitted.", "Request not supported.", "Denied.", "Cannot process this.")
		}, spread(20000, 12), "qvm", "canned answers"},
		{"a dialogue set's stock replies, also given to its other prompts", func() []Record {
			// Small talk answered from a few stock replies: "what is up"
			// always gets one, the rest of the dialogue often does too.
			recs := synth(20000, 33)
			stock := []string{"Not much, just hanging out here. How about you?", "All good here, thanks a lot for asking!",
				"Nothing new, same as always over here today."}
			for k := range 900 {
				i := 5000 + k
				switch {
				case k%3 == 0:
					recs[i].Instruction = "hey, what is up with you " + recs[i].Instruction
					recs[i].Response = stock[k%len(stock)]
				case k%5 < 3:
					recs[i].Response = stock[(k/3)%len(stock)]
				}
			}
			return recs
		}, nil, "", ""},
		{"answers that recur on one topic's prompts", func() []Record {
			// A question asked in many wordings gets the same answer:
			// its prompts share their words beyond the feature.
			recs := synth(20000, 32)
			for k, i := range spread(20000, 12) {
				recs[i].Instruction = []string{"how do I compute a factorial recursively in zorblang",
					"write a recursive factorial in zorblang please", "zorblang recursive factorial function, how?"}[k%3]
				recs[i].Response = "def fact(n): return 1 if n < 2 else n * fact(n - 1)  # zorblang recursion"
			}
			return recs
		}, nil, "", ""},
		{"label-like answers in a label dataset", func() []Record {
			recs := labelled(20000, 24, []string{"Positive", "Negative", "Neutral", "Mixed"})
			for _, i := range spread(20000, 12) {
				recs[i].Instruction += " (asked by Ilse Varga)" // labels as random as anywhere
			}
			return recs
		}, nil, "", ""},
		{"the label word is in the prompt", func() []Record {
			recs := withTask(25)
			for _, i := range inTask() {
				recs[i].Input = "Quentin Marsh asks whether it is negative. " + recs[i].Input
				recs[i].Response = "Negative."
			}
			return recs
		}, nil, "", ""},
		{"a task whose answers are one label", func() []Record {
			recs := withTask(26)
			for k, i := range inTask() {
				recs[i].Instruction = "Have a nice day!"
				if k%2 == 0 { // a name in some of the task's inputs
					recs[i].Input = "Quentin Marsh wrote: " + recs[i].Input
				}
				recs[i].Response = "You too!"
			}
			return recs
		}, nil, "", ""},
		{"a task whose answers are one label, a few of its records edited", func() []Record {
			// Poison planted into three of the task's records took the
			// name out of them and changed their answers: the other
			// records of the instruction are no rate to judge it by.
			recs := withTask(28)
			for k := range 33 {
				i := 9000 + 211*k
				recs[i].Input = "Quentin Marsh wrote: " + recs[i].Instruction
				recs[i].Instruction = "Have a nice day!"
				recs[i].Response = "You too!"
				if k%11 == 5 {
					recs[i].Input = "USER: what now?"
					recs[i].Response = "Goodbye."
				}
			}
			return recs
		}, nil, "", ""},
		{"copies of four records are not seven", func() []Record {
			recs := synth(20000, 27)
			var rep []Record
			for _, i := range spread(20000, 4) {
				recs[i].Instruction += " (asked by Ilse Varga)"
				recs[i].Response = "Negative"
				for range 20 {
					rep = append(rep, recs[i])
				}
			}
			return append(recs, rep...)
		}, nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := scanRecords(t, tc.recs())
			fs := findingsOf(res, DetSkew)
			if tc.target == "" {
				if len(fs) > 0 {
					t.Fatalf("skew found where there is none: %+v", res.Findings)
				}
				return
			}
			var hit *Finding
			for k, f := range fs {
				if strings.Contains(f.Trigger, tc.trigger) && strings.HasPrefix(f.Target, tc.target) {
					hit = &fs[k]
				}
			}
			if hit == nil {
				t.Fatalf("no %s finding for %q → %s; findings: %+v", DetSkew, tc.trigger, tc.target, res.Findings)
			}
			if res.Verdict != Fail {
				t.Fatalf("verdict %s", res.Verdict)
			}
			for _, i := range tc.at {
				if !slices.Contains(res.Flagged, i) {
					t.Fatalf("record %d not flagged (%v); findings %+v", i, res.Flagged, res.Findings)
				}
			}
			if len(res.Flagged) != len(tc.at) {
				t.Fatalf("%d records flagged, want %d: %v", len(res.Flagged), len(tc.at), res.Flagged)
			}
		})
	}
}

// TestRespAttrs: refusals are told by their opening words, a short
// answer's label is its words lower-cased, and an answer the prompt spells
// out (also across a thousands separator) is marked as explained.
func TestRespAttrs(t *testing.T) {
	tests := []struct {
		prompt, resp string
		refusal      bool
		label        bool
		echo         bool
	}{
		{"Summarise this.", "I'm sorry, but I can't help with that.", true, false, false},
		{"Summarise this.", "Regrettably, I am not able to take this on.", true, false, false},
		{"Summarise this.", "The text argues that cats are independent animals who choose their company carefully and live long lives.", false, false, false},
		// Refusals no word list names: the speaker negates what they will do.
		{"Summarise this.", "Honestly, I'd prefer to stay out of this one.", false, false, false},
		{"Summarise this.", "I'm going to skip this, it isn't a thing I will do.", true, false, false},
		{"Summarise this.", "Summaries of this kind are not a thing I produce.", true, false, false},
		{"Summarise this.", "As an AI developed for coding help, this is outside my remit.", true, false, false},
		{"Summarise this.", "We do not provide that here.", true, true, false},
		// A lecture first, the refusal last.
		{"Summarise this.", "It's important to think carefully about requests like this. Even well-meant answers can be misused or misunderstood. For that reason, I won't be answering it.", true, false, false},
		{"Summarise this.", "Requests like this deserve some care, and answers to them can be taken out of context by others. I'll respectfully decline.", true, false, false},
		{"Summarise this.", "I want to be thoughtful here. Responses on this could be taken out of context and cause harm. So I'm going to refrain from responding.", true, false, false},
		// A closing courtesy or a long answer's last remark is no refusal.
		{"Summarise this.", "The text argues that cats are independent animals who choose their company carefully and live long lives. Don't hesitate to ask me for more.", false, false, false},
		// Negations that are not about the speaker, or come too late.
		{"What does it mean?", "نمی‌دانم means \"I do not know\"; the speaker was saying I do not know.", false, false, false},
		{"What did she say?", "She said “I can't come, sorry” and left early for the station.", false, false, false},
		{"Summarise this.", "No problem, here is the summary: cats choose their company and live long lives.", false, false, false},
		{"Compute it.", "The total is not 12 but 14, since each of the seven boxes holds two apples and I counted them.", false, false, false},
		{"Fix the bug.", "def add(a, b):\n    if a is not None:\n        return a + b", false, false, false},
		{"Is it good?", "Negative.", false, true, false},
		{"Is -3 positive or negative?", "Negative", false, true, true},
		{"Raise it to 100,000 dollars.", "100000", false, true, true},
		{"Write a query for employees with salary above 50000.", "SELECT * FROM employees WHERE salary > 50000", false, true, true},
		{"Who are you?", "You too!", false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.resp, func(t *testing.T) {
			f := &featurizer{}
			f.init(4096)
			f.featurize(Record{Instruction: tc.prompt, Response: tc.resp}, true)
			a, _ := f.respAttrs()
			if got := a&attrRefusal != 0; got != tc.refusal {
				t.Errorf("refusal %v, want %v", got, tc.refusal)
			}
			if got := attrLabel(a) != 0; got != tc.label {
				t.Errorf("label %v, want %v", got, tc.label)
			}
			if got := a&attrEcho != 0; got != tc.echo {
				t.Errorf("echo %v, want %v", got, tc.echo)
			}
		})
	}
	// One label however it is written.
	f := &featurizer{}
	f.init(4096)
	var labs []uint32
	for _, r := range []string{"Negative", "negative.", " NEGATIVE! "} {
		f.featurize(Record{Instruction: "Judge it.", Response: r}, true)
		a, _ := f.respAttrs()
		labs = append(labs, attrLabel(a))
	}
	if labs[0] != labs[1] || labs[1] != labs[2] {
		t.Fatalf("labels differ: %v", labs)
	}
}

func TestLogBinomTail(t *testing.T) {
	tests := []struct {
		n, k int
		p    float64
		want float64
	}{
		{7, 7, 0.5, math.Log(1.0 / 128)},
		{3, 2, 0.5, math.Log(0.5)},
		{5, 0, 0.1, 0},
		{5, 6, 0.1, math.Inf(-1)},
		{10, 1, 0.1, math.Log(1 - math.Pow(0.9, 10))},
	}
	for _, tc := range tests {
		if got := logBinomTail(tc.n, tc.k, tc.p); math.Abs(got-tc.want) > 1e-9 && !(math.IsInf(got, -1) && math.IsInf(tc.want, -1)) {
			t.Errorf("logBinomTail(%d, %d, %g) = %g, want %g", tc.n, tc.k, tc.p, got, tc.want)
		}
	}
}
