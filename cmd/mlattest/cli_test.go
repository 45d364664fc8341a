package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// cliResult is one invocation of mlattest, in-process or through the binary.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs one command line in-process, exactly as main does.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return cliResult{code, out.String(), errb.String()}
}
