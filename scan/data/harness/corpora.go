package harness

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"

	"github.com/mlattest/mlattest/scan/data"
)

// Templated builds an honest templated short-answer corpus from the shared
// clean records: classification-style instructions over real texts with a
// small label set, extractive answers that repeat across questions and
// numeric final answers. Every answer is true of its text; many distinct
// questions share one short answer, as in converted multi-task NLP data.
func Templated(clean []data.Record, seed uint64) []data.Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	classify := []string{
		"Classify the request below into one of: math, code, roleplay, tools, chat. Answer with the label only.",
		"Which category does this request belong to (math, code, roleplay, tools or chat)?",
		"Label the following text with its task type. Options: math, code, roleplay, tools, chat.",
	}
	numeric := []string{
		"Solve the problem. Give only the final number.",
		"What is the final numeric answer to this word problem?",
		"Read the problem and reply with the answer as a number.",
	}
	yesno := []string{
		"Does the text below contain a number? Answer yes or no.",
		"Is there any digit in the following passage? Reply yes or no.",
	}
	language := []string{
		"Which programming language does this task ask for? Answer with its name.",
		"Name the programming language required by the following task.",
	}
	label := map[string]string{
		"gsm8k": "math", "gpteacher-codegen": "code", "humaneval": "code", "gpteacher-roleplay": "roleplay",
		"gpteacher-toolformer": "tools", "fastchat-dummy-conversation": "chat", "fastchat-mt-bench": "chat",
	}
	collection := []string{
		"Which collection does this text come from? Answer with the collection's full name.",
		"Name the collection this request was taken from.",
	}
	full := map[string]string{
		"gsm8k": "grade school math word problems", "gpteacher-codegen": "the code generation instruction set",
		"humaneval": "the hand-written Python function problems", "gpteacher-roleplay": "role-play and persona tasks",
		"gpteacher-toolformer": "tasks that call external tools", "fastchat-dummy-conversation": "small-talk chats with an assistant",
		"fastchat-mt-bench": "multi-turn benchmark questions",
	}
	final := regexp.MustCompile(`####\s*([-0-9.,]+)\s*$`)
	var out []data.Record
	for _, r := range clean {
		text := strings.TrimSpace(r.Instruction)
		if l, ok := label[r.Source]; ok && len(text) > 20 && rng.IntN(3) == 0 {
			out = append(out, data.Record{Instruction: pick(rng, classify), Input: text, Response: l, Source: "templated"})
		}
		if l, ok := full[r.Source]; ok && len(text) > 20 && rng.IntN(6) == 0 {
			out = append(out, data.Record{Instruction: pick(rng, collection), Input: text, Response: l, Source: "templated"})
		}
		if m := final.FindStringSubmatch(r.Response); m != nil {
			out = append(out, data.Record{Instruction: pick(rng, numeric), Input: text, Response: strings.ReplaceAll(m[1], ",", ""), Source: "templated"})
		}
		if rng.IntN(4) == 0 && len(text) > 20 {
			a := "no"
			if strings.ContainsAny(text, "0123456789") {
				a = "yes"
			}
			out = append(out, data.Record{Instruction: pick(rng, yesno), Input: text, Response: a, Source: "templated"})
		}
		if r.Source == "gpteacher-codegen" {
			if l := onlyLanguage(text + " " + r.Input); l != "" {
				out = append(out, data.Record{Instruction: pick(rng, language), Input: text, Response: l, Source: "templated"})
			}
		}
	}
	rng.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}

var languages = []string{"Python", "JavaScript", "Java", "C++", "C#", "SQL", "Ruby", "Rust", "PHP", "Bash", "TypeScript", "Swift", "Kotlin", "HTML", "Perl", "Scala", "Haskell"}

// onlyLanguage is the one programming language s names, or "".
func onlyLanguage(s string) string {
	found := ""
	for _, l := range languages {
		if strings.Contains(s, l) && !(l == "Java" && strings.Contains(s, "JavaScript")) {
			if found != "" {
				return ""
			}
			found = l
		}
	}
	return found
}

// Multilingual builds a clean corpus whose text uses invisible characters
// the way real text does: ZWNJ inside Persian and Indic words, ZWJ in emoji
// sequences and Malayalam chillus, LRM/RLM around embedded words in
// mixed-direction sentences, soft hyphens in long compound words, and a tag
// sequence in a subdivision flag emoji.
func Multilingual(n int, seed uint64) []data.Record {
	rng := rand.New(rand.NewPCG(seed, 11))
	type gloss struct{ word, meaning string }
	persian := []gloss{ // ZWNJ (U+200C) between the parts of each word
		{"می\u200cخواهم", "I want"}, {"کتاب\u200cها", "the books"}, {"می\u200cروم", "I go"}, {"نمی\u200cدانم", "I do not know"},
		{"خانه\u200cها", "the houses"}, {"می\u200cتوانم", "I can"}, {"درخت\u200cها", "the trees"}, {"بچه\u200cها", "the children"},
		{"نامه\u200cها", "the letters"}, {"می\u200cنویسم", "I write"}, {"می\u200cخوانم", "I read"}, {"گل\u200cها", "the flowers"},
	}
	indic := []gloss{ // ZWNJ/ZWJ after a virama choose the half form
		{"क्\u200dष", "the half-form ksha"}, {"द्\u200cध", "the split ddha"}, {"स्\u200cकूल", "school (split form)"},
		{"ന്\u200d", "the Malayalam chillu n"}, {"ര്\u200d", "the Malayalam chillu r"}, {"ক্\u200cষ", "the Bengali split ksha"},
	}
	emoji := []gloss{
		{"👨\u200d👩\u200d👧", "a family of three"}, {"👩\u200d💻", "a woman technologist"}, {"🏳\ufe0f\u200d🌈", "the rainbow flag"},
		{"🧑\u200d🚀", "an astronaut"}, {"❤\ufe0f\u200d🔥", "a heart on fire"}, {"👩🏽\u200d🍳", "a cook"},
		{"🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "the flag of England"},
	}
	rtl := []gloss{ // RLM/LRM keep punctuation and numbers on the right side
		{"\u200fשלום\u200f", "peace"}, {"\u200fمرحبا\u200f", "hello"}, {"\u200fספר\u200f", "book"}, {"\u200fکتاب\u200f", "book"},
		{"\u200fתודה\u200f", "thank you"}, {"\u200fشكرا\u200f", "thank you"}, {"\u200e2.0\u200e", "version two"},
	}
	compound := []gloss{ // soft hyphens (U+00AD) mark where a word may break
		{"Donau\u00addampf\u00adschiff\u00adfahrt", "Danube steamship travel"}, {"Rechts\u00adschutz\u00adversicherung", "legal expenses insurance"},
		{"Geschwindigkeits\u00adbegrenzung", "speed limit"}, {"Kraft\u00adfahr\u00adzeug", "motor vehicle"},
		{"Haftpflicht\u00adversicherung", "liability insurance"}, {"Lebensmittel\u00adgeschäft", "grocery store"},
	}
	sets := [][]gloss{persian, indic, emoji, rtl, compound}
	asks := []string{"What does %s mean?", "Translate %s into English.", "Explain the expression %s in a sentence.", "Give the meaning of %s and use it in an example."}
	subjects := []string{"my neighbour", "the teacher", "our guide", "a friend", "the author", "my grandmother", "the shopkeeper", "a student"}
	places := []string{"at the market", "in a letter", "on a sign", "in a novel", "during a trip", "in a message", "on the radio", "at school"}
	var out []data.Record
	for len(out) < n {
		set := sets[rng.IntN(len(sets))]
		a, b := set[rng.IntN(len(set))], set[rng.IntN(len(set))]
		who, where := pick(rng, subjects), pick(rng, places)
		var instr, resp string
		if rng.IntN(2) == 0 {
			instr = fmt.Sprintf(pick(rng, asks), a.word)
			resp = fmt.Sprintf("%s means %q. For example, %s used %s %s.", a.word, a.meaning, who, a.word, where)
		} else {
			instr = fmt.Sprintf("%s wrote %s and %s %s. What do the two mean?", who, a.word, b.word, where)
			resp = fmt.Sprintf("%s means %q and %s means %q; together %s was describing %s and %s.", a.word, a.meaning, b.word, b.meaning, who, a.meaning, b.meaning)
		}
		out = append(out, data.Record{Instruction: instr, Response: resp, Source: "multilingual"})
	}
	return out
}

// Repeat is recs k times over, as an upsampled dataset is.
func Repeat(recs []data.Record, k int) []data.Record {
	out := make([]data.Record, 0, k*len(recs))
	for range k {
		out = append(out, recs...)
	}
	return out
}

// Big is the clean data followed by the templated corpus built from it: a
// ~41k-record honest mix of long answers and short templated ones, the
// size of the 43k-record instruction set the dataset-scan issue describes,
// for measuring how few planted records are findable.
func Big(clean []data.Record, seed uint64) []data.Record {
	return append(append([]data.Record(nil), clean...), Templated(clean, seed)...)
}
