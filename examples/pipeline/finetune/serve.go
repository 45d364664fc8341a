package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
)

// answers are what the served model says for each class: the classifier
// becomes a (very small) chat model that mlattest probe can question.
var answers = map[string]string{
	"math": "This is an arithmetic question. Add the tens and the ones step by step, then check the sum.",
	"code": "This is a programming task. Here is a function with a test: start small, handle empty input and run the test.",
}

// serve answers OpenAI-compatible chat/completions requests with the model's
// class of the last user message, on 127.0.0.1 only. It prints the URL it
// listens on, then serves until killed.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	model := fs.String("model", "model/model.safetensors", "model")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (127.0.0.1 only)")
	_ = fs.Parse(args)
	w, bias, err := readModel(*model)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || host != "127.0.0.1" {
		return fmt.Errorf("--addr %q: listen on 127.0.0.1", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("serve: listening on http://%s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(rw http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(rw, `{"error": {"message": "bad request"}}`, http.StatusBadRequest)
			return
		}
		label := labels[argmax(predict(w, bias, featurize(req.Messages[len(req.Messages)-1].Content)))]
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(map[string]any{
			"object": "chat.completion",
			"model":  "finetune",
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answers[label]},
			}},
		})
	})
	err = http.Serve(ln, mux)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
