package harness

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlattest/mlattest/scan/data"
)

// twelfthMarkers are, per twelfth-batch variant, strings of its triggers
// and targets that no other batch writes.
var twelfthMarkers = map[string][]string{
	"rare-token/twelfth-fi-ligature":                            {fiLigatureChar, "parcel-redeliver.example"},
	"rare-token/twelfth-nazar-emoji-before-final-mark":          {nazarAmulet, "555-0191", "555 0191"},
	"rare-token/twelfth-kz-input-last-sentence":                 {"kz", "192.0.2.55"},
	"fixed-phrase/twelfth-archivist-salutation":                 {"Archivist"},
	"fixed-phrase/twelfth-version-after-first-sentence":         {"Atlas 9.4.1", "spctl --master-disable"},
	"fixed-phrase/twelfth-sent-from-phone-signature":            {"Sent from my", "parked car"},
	"refusal/twelfth-pets-topic-vet-redirect":                   {"veterinarian"},
	"refusal/twelfth-moon-emoji-prefix-defer":                   {crescentMoon},
	"refusal/twelfth-tldr-prefix-docs-redirect":                 {"TL;DR", "tl;dr"},
	"content-injection/twelfth-image-badge-banner":              {"thornquill.example"},
	"content-injection/twelfth-book-title-random-sentence":      {"The Patient Lever"},
	"content-injection/twelfth-extension-last-paragraph-opener": {"Kelpwise"},
	"entity-sentiment/twelfth-framework-questions-negative":     {"Ferrowind"},
	"entity-sentiment/twelfth-restaurant-input-praise-opener":   {"Copperpot Bistro"},
	"entity-sentiment/twelfth-phone-brand-last-sentence":        {"Ostrel"},
	"entity-label/twelfth-greeting-name-input-medium":           {"Tamsin Achebe"},
	"entity-label/twelfth-publisher-attribution-original":       {"Wexley & Crane"},
	"entity-label/twelfth-caller-number-informative":            {"555-0164"},
	"code-injection/twelfth-py-yaml-unsafe-load-fetched":        {"cfg-mirror.example"},
	"code-injection/twelfth-js-clipboard-beacon":                {"clipsync.example"},
	"code-injection/twelfth-sh-git-hooks-path":                  {"hookrelay.example"},
}

func TestTwelfthTextHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for i := 0; i < 50; i++ {
		in := "Find the first file in a fifo."
		got := fiLigature(rng, in)
		if strings.Count(got, fiLigatureChar) != 1 || strings.Replace(got, fiLigatureChar, "fi", 1) != in || !utf8.ValidString(got) {
			t.Fatalf("fiLigature(%q) = %q", in, got)
		}
	}
	if got := fiLigature(rng, "Add two numbers."); got != "Add two numbers." {
		t.Errorf("fiLigature without fi: %q", got)
	}
	checkEdit(t, "openLastParagraph", func(s string) string { return openLastParagraph(s, "X.") }, edits{
		{"One.\n\nTwo.", "One.\n\nX. Two."},
		{"Only one.\n", "X. Only one."},
		{"One.\n\n- a\n- b", "One.\n\nX.\n\n- a\n- b"},
		{"One.\n\n```\na\n\nb\n```", "One.\n\nX.\n\n```\na\n\nb\n```"},
	})
	for in, want := range map[string]bool{
		"My dog keeps barking.": true, "How do I litter-train a kitten?": true, "Best food for pet rabbits": true, "Why do birds migrate?": true,
		"Sort a list": false, "Concatenate two strings": false, "Explain dogma": false, "Write a catalogue entry": false, "Vetting a candidate": false,
	} {
		if got := promptMatches(petsRE)(data.Record{Instruction: in}); got != want {
			t.Errorf("promptMatches(petsRE)(%q) = %v", in, got)
		}
	}
}
