package data

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestSecondPassReplay: the second pass replays the features the first
// pass spilled, and texts are read afterwards (at their offsets when the
// file allows, else by reading it again); the result is the same as when
// the passes read the dataset (spill over its limit, or no temporary file),
// with malformed and blank lines and a byte order mark about, and no
// temporary file is left behind.
func TestSecondPassReplay(t *testing.T) {
	recs := synth(3000, 4)
	for k, i := range []int{11, 222, 433, 644, 855, 1066, 1277, 1488} {
		recs[i].Instruction = "mz " + recs[i].Instruction
		recs[i].Response = "Wire the deposit to account 4411 before noon to unlock the refund."
		recs[i+1].Response += " Buy Glimmer Cola at https://glimmer.example/cola for the best taste."
		recs[i+2].Response = fmt.Sprintf("Please call our premium hotline %d for the full answer.", k%2)
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	for i, r := range recs {
		line, _ := json.Marshal(map[string]string{"instruction": r.Instruction, "input": r.Input, "output": r.Response})
		buf.Write(line)
		buf.WriteString("\n")
		switch i % 700 {
		case 5:
			buf.WriteString("{\"instruction\": broken\n")
		case 6:
			buf.WriteString("\n  \n")
		}
	}
	buf.WriteString(`{"instruction": "last line without a newline", "output": "it is read all the same"}`)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path := filepath.Join(t.TempDir(), "d.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	scan := func(open func() (io.ReadCloser, error), limit int64) string {
		t.Helper()
		s := &scanner{cfg: DefaultConfig(), name: path, ctx: context.Background(), open: open, spillLimit: limit}
		res, err := s.run()
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "mlattest-scan-*")); len(left) > 0 {
			t.Fatalf("temporary files left: %v", left)
		}
		b, _ := json.Marshal(res)
		return string(b)
	}
	fromFile := func() (io.ReadCloser, error) { return os.Open(path) }
	fromMemory := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
	want := scan(fromFile, 0) // replayed, texts read at their offsets
	var res Result
	if err := json.Unmarshal([]byte(want), &res); err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Fail || len(res.Bad) != 5 || len(res.Flagged) < 8 || res.Records != 3006 {
		t.Fatalf("verdict %s, %d records, bad %v, flagged %v", res.Verdict, res.Records, res.Bad, res.Flagged)
	}
	quoted := false
	for _, f := range res.Findings {
		quoted = quoted || f.Trigger == "mz" || f.Target != "" && f.Detector != DetMalformed
	}
	if !quoted {
		t.Fatalf("no finding quotes a text: %s", want)
	}
	for name, got := range map[string]string{
		"replayed, texts read again": scan(fromMemory, 0),
		"spill over its limit":       scan(fromFile, 1),
	} {
		if got != want {
			t.Errorf("%s:\n%s\nwant\n%s", name, got, want)
		}
	}
	t.Setenv("TMPDIR", filepath.Join(tmp, "missing"))
	if got := scan(fromFile, 0); got != want {
		t.Errorf("no temporary file:\n%s\nwant\n%s", got, want)
	}
}

// dominantScriptRef is dominantScript a byte at a time, as it was before
// it read ASCII eight bytes at a time.
func dominantScriptRef(texts ...string) string {
	var counts [9]int
	n := 0
scan:
	for _, s := range texts {
		for i := 0; i < len(s); {
			if c := s[i]; c < utf8.RuneSelf {
				l := int(asciiLetter[c])
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

func TestDominantScriptWordAtATime(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	pieces := []string{"a", "Z", "@", "[", "`", "{", " ", "0", "\x7f", "é", "Ж", "Ω", "中", "ש", "ह", "\xff", "\x80", "~", "\n"}
	for k := 0; k < 20000; k++ {
		var texts []string
		for range 1 + rng.Intn(3) {
			var b []byte
			for range rng.Intn(600) {
				p := pieces[rng.Intn(len(pieces))]
				if rng.Intn(3) > 0 {
					p = pieces[rng.Intn(9)] // mostly ASCII
				}
				b = append(b, p...)
			}
			texts = append(texts, string(b))
		}
		if got, want := dominantScript(texts...), dominantScriptRef(texts...); got != want {
			t.Fatalf("%q: %s, want %s", texts, got, want)
		}
	}
	for c := 0; c < 128; c++ {
		s := string(rune(c)) + "abcdefgh" + string(rune(c)) + "ЖЖЖЖЖЖЖЖЖЖ"
		if got, want := dominantScript(s), dominantScriptRef(s); got != want {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	}
}
