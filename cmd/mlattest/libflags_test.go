package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
)

// flagRef finds what looks like a long flag in a string.
var flagRef = regexp.MustCompile(`--([a-z][a-z0-9-]*)`)

// notLibrary are the module's folders outside the library: the CLI, the
// benchmarks, examples, scripts and test helpers.
var notLibrary = []string{"cmd", "bench", "examples", "scripts", "internal/stacktest", "testdata"}

// execArgs are string literals that are arguments to other programs (git,
// or mlattest itself in a rendered pod), which may spell a flag of ours.
var execArgs = map[string]bool{"attest/git.go": true, "sandbox/toolargs.go": true, "k8sjob/command.go": true}

// TestLibraryStringsNameNoFlags: no string literal in a non-test library
// file names a flag of the mlattest command tree. A Go user of the library
// has no flags; the CLI adds the hint (after errors.Is or from a failure
// code). Comments are not string literals, so they may.
func TestLibraryStringsNameNoFlags(t *testing.T) {
	flags := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(newRootCmd())
	if len(flags) < 30 || !flags["run-id"] || !flags["identity-token"] {
		t.Fatalf("collected %d flags from the command tree; want the whole tree", len(flags))
	}

	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var found []string
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || slices.Contains(notLibrary, rel) || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || execArgs[rel] {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range flagRef.FindAllStringSubmatch(s, -1) {
				if flags[m[1]] {
					found = append(found, fset.Position(lit.Pos()).String()+": --"+m[1])
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("parsed %d library files; the walk missed the module", files)
	}
	if len(found) > 0 {
		t.Errorf("library strings name CLI flags (name the option, field or sentinel; cmd adds the flag):\n%s", strings.Join(found, "\n"))
	}
}

// TestFlagHints: the CLI adds the flag to each library sentinel or failure
// code whose message names only an option, and keeps the sentinel.
func TestFlagHints(t *testing.T) {
	for _, tc := range []struct {
		err  error
		hint func(error) error
		flag string
	}{
		{sign.ErrNoToken, signFlagHint, "--identity-token"},
		{sign.ErrOfflineNeedsKey, signFlagHint, "--offline needs --key"},
		{sign.ErrNoSigningConfig, signFlagHint, "--signing-config"},
		{fmt.Errorf("%w: x", sign.ErrPublicGoodSigningConfig), signFlagHint, "--signing-config"},
		{fmt.Errorf("%w: x", trust.ErrPublicGoodRoot), func(err error) error { _, e := loadTrustedRootHint(nil, err); return e }, "--trusted-root"},
		{fmt.Errorf("%w: step: %w", attest.ErrInput, attest.ErrPickleInput), attestFlagHint, "--allow-pickle"},
		{fmt.Errorf("%w: step: %w", attest.ErrInput, attest.ErrPinsWithoutBaseModel), attestFlagHint, "--base-model"},
		{fmt.Errorf("walk: %w", digest.ErrSymlink), symlinkHint, "--follow-symlinks"},
	} {
		got := tc.hint(tc.err)
		if !errors.Is(got, tc.err) || !strings.Contains(got.Error(), tc.flag) {
			t.Errorf("hint(%v) = %v, want it to wrap the error and name %s", tc.err, got, tc.flag)
		}
	}
	other := errors.New("other")
	if signFlagHint(other) != other || attestFlagHint(other) != other || symlinkHint(other) != other {
		t.Error("an error without a hint was changed")
	}
	var b strings.Builder
	writeFlagHints(&b, []gate.Failure{{Code: gate.FailRunIDAmbiguous}, {Code: gate.FailRunIDAmbiguous}, {Code: gate.FailLayoutUnsigned}, {Code: gate.FailThreshold}})
	if got := b.String(); strings.Count(got, "mlattest: hint:") != 2 || !strings.Contains(got, "--run-id") || !strings.Contains(got, "--insecure-unsigned-layout") {
		t.Errorf("writeFlagHints wrote %q", got)
	}
}
