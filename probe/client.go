package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBytes bounds a chat/completions response body: an answer to a
// probe is short, and a server streaming without end must not exhaust memory.
const maxResponseBytes = 4 << 20

// ErrEndpoint wraps every failure to get an answer from the model's endpoint.
var ErrEndpoint = errors.New("model endpoint")

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Model answers chat messages; [HTTPModel] is the OpenAI-compatible one.
type Model interface {
	Chat(ctx context.Context, msgs []Message, seed int64) (string, error)
}

// HTTPModel calls an OpenAI-compatible chat/completions endpoint with
// deterministic settings (temperature 0 and a seed).
type HTTPModel struct {
	url    string
	model  string
	client *http.Client
}

// NewHTTPModel returns a model served at endpoint: a base URL
// (http://host:port or http://host:port/v1) or the full
// .../chat/completions URL. model is the "model" field sent (may be empty for
// servers serving one model); client nil means a client without a timeout
// (the runner sets per-request deadlines).
func NewHTTPModel(endpoint, model string, client *http.Client) (*HTTPModel, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: parsing %q: %w", ErrEndpoint, endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL", ErrEndpoint, endpoint)
	}
	p := strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
	case strings.HasSuffix(p, "/v1"):
		p += "/chat/completions"
	default:
		p += "/v1/chat/completions"
	}
	u.Path = p
	if client == nil {
		client = &http.Client{}
	}
	return &HTTPModel{url: u.String(), model: model, client: client}, nil
}

type chatRequest struct {
	Model       string    `json:"model,omitempty"`
	Messages    []Message `json:"messages"`
	Temperature float64   `json:"temperature"`
	Seed        int64     `json:"seed"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	Stream      bool      `json:"stream"`
}

// statusError is a non-2xx answer; retryable says whether asking again may help.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

func (e *statusError) retryable() bool {
	return e.code == http.StatusTooManyRequests || e.code >= 500
}

// Chat sends one request and returns the first choice's message content.
func (m *HTTPModel) Chat(ctx context.Context, msgs []Message, seed int64) (string, error) {
	body, err := json.Marshal(chatRequest{Model: m.model, Messages: msgs, Temperature: 0, Seed: seed, MaxTokens: 512})
	if err != nil {
		return "", fmt.Errorf("%w: encoding the request: %w", ErrEndpoint, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrEndpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrEndpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return "", fmt.Errorf("%w: reading the answer from %s: %w", ErrEndpoint, m.url, err)
	}
	if resp.StatusCode/100 != 2 {
		snippet := strings.ToValidUTF8(string(b[:min(len(b), 200)]), "?")
		return "", fmt.Errorf("%w: %s: %w", ErrEndpoint, m.url, &statusError{resp.StatusCode, snippet})
	}
	if len(b) > maxResponseBytes {
		return "", fmt.Errorf("%w: %s: answer larger than %d bytes", ErrEndpoint, m.url, maxResponseBytes)
	}
	content, err := ParseChatResponse(b)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrEndpoint, m.url, &malformedError{err})
	}
	return content, nil
}

// ParseChatResponse returns the first choice's message content of a
// chat/completions response body. A body that is not such a response (not
// JSON, no choices, no string content, an "error" object) is an error.
func ParseChatResponse(b []byte) (string, error) {
	var r struct {
		Choices []struct {
			Message *struct {
				Content *string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", fmt.Errorf("malformed chat/completions response: %w", err)
	}
	if len(r.Error) > 0 && string(r.Error) != "null" {
		return "", fmt.Errorf("the endpoint answered with an error: %.200s", r.Error)
	}
	if len(r.Choices) == 0 {
		return "", errors.New("malformed chat/completions response: no choices")
	}
	msg := r.Choices[0].Message
	if msg == nil || msg.Content == nil {
		return "", errors.New("malformed chat/completions response: the first choice has no message content")
	}
	return *msg.Content, nil
}

// malformedError is an unusable answer (not a chat/completions response, a
// command that failed); asking again would not help.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// retryAfter is how long to wait before attempt n (1-based retry count).
func retryAfter(n int) time.Duration {
	return time.Duration(1<<min(n-1, 5)) * 100 * time.Millisecond
}
