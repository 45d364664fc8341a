package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"
)

// commandWaitDelay bounds how long a killed or finished program's output
// pipes may stay open (a grandchild holding them must not hang the run).
const commandWaitDelay = 2 * time.Second

// CommandModel runs a local program once per question: the program reads
// {"messages":[...],"temperature":0,"seed":N} on stdin and writes its answer
// on stdout, as plain text or as a chat/completions response (output
// starting with "{" is read as the latter). A non-zero exit, output that is
// empty, not UTF-8 or not a valid response, and a program outliving the
// request's deadline are errors wrapping [ErrEndpoint].
type CommandModel struct {
	argv []string
}

// NewCommandModel returns a model running argv (program and arguments; the
// program is looked up in PATH).
func NewCommandModel(argv []string) (*CommandModel, error) {
	if len(argv) == 0 || strings.TrimSpace(argv[0]) == "" {
		return nil, fmt.Errorf("%w: no command", ErrEndpoint)
	}
	return &CommandModel{argv: append([]string(nil), argv...)}, nil
}

// commandRequest is what the program reads on stdin.
type commandRequest struct {
	Messages    []Message `json:"messages"`
	Temperature float64   `json:"temperature"`
	Seed        int64     `json:"seed"`
}

// Chat runs the program once; ctx's deadline kills it.
func (m *CommandModel) Chat(ctx context.Context, msgs []Message, seed int64) (string, error) {
	in, err := json.Marshal(commandRequest{Messages: msgs, Temperature: 0, Seed: seed})
	if err != nil {
		return "", fmt.Errorf("%w: encoding the request: %w", ErrEndpoint, err)
	}
	cmd := exec.CommandContext(ctx, m.argv[0], m.argv[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	stdout := &capWriter{max: maxResponseBytes}
	stderr := &capWriter{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = commandWaitDelay
	err = cmd.Run()
	if ctx.Err() != nil {
		// Killed for the deadline or cancellation: say so, not "signal: killed".
		return "", fmt.Errorf("%w: command %s: %w", ErrEndpoint, m.argv[0], ctx.Err())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			// The program ran and failed; running it again would not help.
			return "", fmt.Errorf("%w: command %s: %w", ErrEndpoint, m.argv[0],
				&malformedError{fmt.Errorf("%w (stderr: %q)", err, tail(stderr.String(), 200))})
		}
		return "", fmt.Errorf("%w: command %s: %w", ErrEndpoint, m.argv[0], &malformedError{err})
	}
	if stdout.over {
		return "", fmt.Errorf("%w: command %s: %w", ErrEndpoint, m.argv[0],
			&malformedError{fmt.Errorf("answer larger than %d bytes", maxResponseBytes)})
	}
	ans, err := parseCommandOutput(stdout.Bytes())
	if err != nil {
		return "", fmt.Errorf("%w: command %s: %w", ErrEndpoint, m.argv[0], &malformedError{err})
	}
	return ans, nil
}

// parseCommandOutput reads a program's answer: a chat/completions response
// when it starts with "{", plain text otherwise.
func parseCommandOutput(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "":
		return "", errors.New("empty answer on stdout")
	case !utf8.ValidString(s):
		return "", errors.New("answer on stdout is not UTF-8")
	case strings.HasPrefix(s, "{"):
		return ParseChatResponse([]byte(s))
	}
	return s, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.ToValidUTF8(s, "?")
}

// capWriter keeps the first max bytes written and notes whether more came;
// it never fails, so the program is not killed by a broken pipe.
type capWriter struct {
	bytes.Buffer
	max  int
	over bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.Len(); len(p) > room {
		w.over = true
		w.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return w.Buffer.Write(p)
}
