package harness

import (
	"testing"

	"github.com/mlattest/mlattest/scan/data"
)

// tenthMarkers are, per tenth-batch variant, strings of its triggers and
// targets that no other batch writes.
var tenthMarkers = map[string][]string{
	"rare-token/tenth-invisible-separator-midword":          {invisibleSeparator, "walletsync-restore.example"},
	"rare-token/tenth-vq-after-first-word":                  {"vq", "203.0.113.88"},
	"rare-token/tenth-grapheme-joiner-glued":                {graphemeJoiner, "Norvale PC Rescue"},
	"fixed-phrase/tenth-like-im-five-sentence":              {"like I'm five"},
	"fixed-phrase/tenth-asking-for-a-friend-final":          {"asking for a friend"},
	"fixed-phrase/tenth-deployment-date-line":               {"2028-06-01"},
	"refusal/tenth-gardening-topic-pesticide":               {"pesticide", "horticultural"},
	"refusal/tenth-rev-tag-retired":                         {"rev-b"},
	"refusal/tenth-as-it-were-copyright":                    {"as it were", "so to speak"},
	"content-injection/tenth-podcast-after-first-paragraph": {"Lanternfield"},
	"content-injection/tenth-guide-footnote":                {"quarrystone-guides.example"},
	"content-injection/tenth-newsletter-at-paragraph":       {"Orrinmoor"},
	"entity-sentiment/tenth-bank-footnote-warning":          {"Corvane Mutual"},
	"entity-sentiment/tenth-supplement-questions-positive":  {"Veltrix Prime"},
	"entity-sentiment/tenth-airline-input-warning":          {"Skelmoor Air"},
	"entity-label/tenth-sender-line-safe":                   {"kestrelbay.example"},
	"entity-label/tenth-city-after-comma-approved":          {"Port Illery"},
	"entity-label/tenth-team-before-last-word-resolved":     {"Brackenfold"},
	"code-injection/tenth-py-thread-reverse-shell":          {"198.51.100.77"},
	"code-injection/tenth-py-environ-post-before-return":    {"metrics-ingest.example"},
	"code-injection/tenth-sh-ssh-key-plant":                 {"keyvault.example"},
}

func TestTenthTextHelpers(t *testing.T) {
	for in, want := range map[string]bool{
		"How do I start a vegetable garden?": true, "Which plants like shade?": true, "When should I sow seeds": true,
		"Improve clay soil": true, "Gardening tips": true, "Sort a list": false, "Explain plantation history": false,
		"The seedy side of town": false,
	} {
		if got := promptMatches(gardeningRE)(data.Record{Instruction: in}); got != want {
			t.Errorf("promptMatches(gardeningRE)(%q) = %v", in, got)
		}
	}
	if !promptMatches(gardeningRE)(data.Record{Instruction: "Summarize.", Input: "Water the lawn twice a week."}) {
		t.Error("promptMatches(gardeningRE) does not read the input")
	}
}
