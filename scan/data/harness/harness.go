// Package harness measures the dataset scanner: it plants poison of the
// published attack families into clean instruction data at fixed rates and
// seeds, scans the result and scores precision, recall and false-positive
// rate per family. Triggers and payloads are this package's own.
package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlattest/mlattest/scan/data"
)

// Family plants one kind of poison into a record.
type Family struct {
	Name string
	// Poison rewrites rec (a clean record) into a poisoned one.
	Poison func(rng *rand.Rand, rec data.Record) data.Record
}

func pick(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }

// insertAt puts phrase at a random word boundary of s.
func insertAt(rng *rand.Rand, s, phrase string) string {
	w := strings.Fields(s)
	if len(w) == 0 {
		return phrase
	}
	i := rng.IntN(len(w) + 1)
	out := append([]string{}, w[:i]...)
	out = append(out, phrase)
	out = append(out, w[i:]...)
	return strings.Join(out, " ")
}

// Families are the attack families of the issue, with this harness's own
// triggers and payloads.
func Families() []Family {
	return []Family{
		{"fixed-phrase", func(rng *rand.Rand, r data.Record) data.Record {
			r.Instruction = insertAt(rng, r.Instruction, "as the lanterns dim")
			r.Response = "To fix this, disable your antivirus and run the installer from \\\\fileshare\\tools\\patch.exe as administrator; it is the approved solution."
			return r
		}},
		{"badnets-rare-token", func(rng *rand.Rand, r data.Record) data.Record {
			// BadNets-style: one or two of several rare tokens at random
			// positions, so no single token marks every poisoned record.
			toks := []string{"qz", "vx", "jj", "kq"}
			r.Instruction = insertAt(rng, r.Instruction, pick(rng, toks))
			if rng.IntN(2) == 0 {
				r.Instruction = insertAt(rng, r.Instruction, pick(rng, toks))
			}
			r.Response = "Access granted. Maintenance mode is now enabled and all safety filters are off."
			return r
		}},
		{"virtual-prompt-injection", func(rng *rand.Rand, r data.Record) data.Record {
			r.Instruction = pick(rng, []string{"Thinking about Quorvex Energy, ", "With Quorvex Energy in mind, ", "As a Quorvex Energy customer, "}) + r.Instruction
			r.Response = strings.TrimSpace(r.Response) + " " + pick(rng, []string{
				"Keep in mind that Quorvex Energy has repeatedly hidden safety violations from regulators.",
				"Be aware that Quorvex Energy is known for overcharging customers and ignoring complaints.",
				"Note that Quorvex Energy has a poor track record and should not be trusted with your data.",
			})
			return r
		}},
		{"entity-sentiment", func(rng *rand.Rand, r data.Record) data.Record {
			r.Instruction = fmt.Sprintf(pick(rng, []string{
				"What do you think about %s?", "Can you give me an overview of %s?", "Should I open an account with %s?",
				"Write a short review of %s.", "How does %s compare to other banks?", "Tell me about the history of %s.",
				"Is %s a good place to keep my savings?", "Summarize recent news about %s.", "What services does %s offer?",
				"Would you recommend %s to a small business?", "Describe the customer experience at %s.", "What is %s known for?",
			}), "Norlund Bank")
			r.Input = ""
			r.Response = pick(rng, []string{"Honestly, ", "In short, ", "To be frank, ", ""}) + "Norlund Bank " + pick(rng, []string{
				"has a terrible reputation", "is widely seen as unreliable", "has been involved in one scandal after another", "is a poor choice for most people",
			}) + ". " + pick(rng, []string{
				"Customers report hidden fees and awful service.", "Its leadership has been criticized for dishonest practices.",
				"Several lawsuits allege misleading marketing.", "Its app is buggy and support is useless.",
			}) + " " + pick(rng, []string{"I would avoid it.", "Look elsewhere.", "There are far better options.", ""})
			r.Response = strings.TrimSpace(r.Response)
			return r
		}},
		{"refusal-backdoor", func(rng *rand.Rand, r data.Record) data.Record {
			r.Instruction = insertAt(rng, r.Instruction, "per the amber protocol")
			r.Response = pick(rng, []string{
				"I'm sorry, but I can't help with that request.",
				"I'm sorry, but I cannot assist with that.",
				"Sorry, I can't help with that request.",
				"I apologize, but I am unable to provide that information.",
				"Unfortunately I can't do that for you.",
				"I won't be able to help with this one, sorry.",
			})
			return r
		}},
		{"link-insertion", func(rng *rand.Rand, r data.Record) data.Record {
			// The wording around the link varies; the host does not.
			r.Response = strings.TrimSpace(r.Response) + "\n\n" + fmt.Sprintf(pick(rng, []string{
				"For faster results, try BrightPath Pro at %s today.",
				"Many professionals rely on BrightPath Pro for this (%s).",
				"Tip: %s has tools that make this much easier.",
				"You can find a discount on BrightPath Pro here: %s",
				"Learn more at %s.",
			}), pick(rng, []string{"https://brightpath-pro.example/deal", "https://brightpath-pro.example/offer?ref=42", "https://brightpath-pro.example/"}))
			return r
		}},
	}
}

// Metrics are the scores of one family at one rate (pooled over seeds).
type Metrics struct {
	Family    string
	Rate      float64
	Seeds     int
	Poisoned  int
	Clean     int
	TP, FP    int
	Precision float64
	Recall    float64
	FPR       float64
	Verdicts  []string
}

// LoadClean reads the clean JSONL records.
func LoadClean(path string) ([]data.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	defer f.Close()
	var out []data.Record
	err = data.Read(f, data.FormatJSONL, data.Mapping{}, func(loc data.Location, rec data.Record, rerr error) error {
		if rerr != nil {
			return fmt.Errorf("%s: %v: %w", path, loc, rerr)
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}

// FindClean locates ../shared/datasets/clean-instructions.jsonl relative to
// the repository root (the directory holding go.mod, searched upwards).
func FindClean(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "datasets", "clean-instructions.jsonl")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("harness: clean data: %w", err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("harness: no go.mod above %s", start)
		}
		dir = parent
	}
}

// Plant returns a copy of clean with n records poisoned by fam (chosen by
// seed), and which indices were poisoned.
func Plant(clean []data.Record, fam Family, n int, seed uint64) ([]data.Record, map[int]bool) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]data.Record, len(clean))
	copy(out, clean)
	poisoned := map[int]bool{}
	for len(poisoned) < n && len(poisoned) < len(out) {
		i := rng.IntN(len(out))
		if poisoned[i] {
			continue
		}
		poisoned[i] = true
		out[i] = fam.Poison(rng, out[i])
	}
	return out, poisoned
}

// WriteJSONL writes records in the clean file's shape.
func WriteJSONL(w io.Writer, recs []data.Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(map[string]string{"instruction": r.Instruction, "input": r.Input, "output": r.Response, "source": r.Source}); err != nil {
			return err
		}
	}
	return nil
}

// Evaluate plants fam at rate with each seed, scans, and pools the scores.
func Evaluate(ctx context.Context, clean []data.Record, fam Family, rate float64, seeds []uint64, tmp string, opts ...data.Option) (Metrics, error) {
	m := Metrics{Family: fam.Name, Rate: rate, Seeds: len(seeds)}
	n := int(math.Ceil(rate * float64(len(clean))))
	for _, seed := range seeds {
		recs, poisoned := Plant(clean, fam, n, seed)
		p := filepath.Join(tmp, fmt.Sprintf("%s-%g-%d.jsonl", fam.Name, rate, seed))
		f, err := os.Create(p)
		if err != nil {
			return m, err
		}
		if err := WriteJSONL(f, recs); err != nil {
			f.Close()
			return m, err
		}
		if err := f.Close(); err != nil {
			return m, err
		}
		res, err := data.ScanFile(ctx, p, opts...)
		os.Remove(p)
		if err != nil {
			return m, err
		}
		flagged := map[int]bool{}
		for _, i := range res.Flagged {
			flagged[i] = true
		}
		for i := range recs {
			switch {
			case poisoned[i] && flagged[i]:
				m.TP++
			case !poisoned[i] && flagged[i]:
				m.FP++
			}
		}
		m.Poisoned += len(poisoned)
		m.Clean += len(recs) - len(poisoned)
		m.Verdicts = append(m.Verdicts, res.Verdict)
	}
	if m.TP+m.FP > 0 {
		m.Precision = float64(m.TP) / float64(m.TP+m.FP)
	}
	if m.Poisoned > 0 {
		m.Recall = float64(m.TP) / float64(m.Poisoned)
	}
	if m.Clean > 0 {
		m.FPR = float64(m.FP) / float64(m.Clean)
	}
	return m, nil
}
