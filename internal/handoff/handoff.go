// Package handoff lets a tool run inside `mlattest run` contribute its own
// in-toto statements to the step: mlattest run tells the child, through the
// environment, the step name, the run id and a private directory; a tool
// such as `mlattest scan` writes its statements there; after the command,
// mlattest run checks that each one is bound to this step and run, and signs
// it with the step's link. The child never needs signing credentials, and a
// scan's result is bound to the step that ran it.
package handoff

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/mlattest/mlattest/internal/fsutil"
)

// Environment variables set for the command of `mlattest run`.
const (
	EnvStep  = "MLATTEST_STEP"
	EnvRunID = "MLATTEST_RUN_ID"
	EnvDir   = "MLATTEST_STATEMENT_DIR"
)

// Suffix marks statement files in the handoff directory.
const Suffix = ".intoto.json"

// MaxStatements bounds what one command may hand over.
const MaxStatements = 64

// maxSize bounds one handed-over statement (predicates caps parsing too).
const maxSize = 32 << 20

// Handoff is where a child writes statements for the step it runs in.
type Handoff struct {
	Step, RunID, Dir string
}

// FromEnv reads the handoff a parent `mlattest run` set up; ok is false
// outside one.
func FromEnv(getenv func(string) string) (h Handoff, ok bool) {
	h = Handoff{Step: getenv(EnvStep), RunID: getenv(EnvRunID), Dir: getenv(EnvDir)}
	return h, h.Step != "" && h.RunID != "" && h.Dir != ""
}

// Env is the environment entries that pass h to a child.
func (h Handoff) Env() []string {
	return []string{EnvStep + "=" + h.Step, EnvRunID + "=" + h.RunID, EnvDir + "=" + h.Dir}
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Write hands one statement (its JSON) to the parent under a name of the
// child's choosing; an existing name is an error, never overwritten.
func (h Handoff) Write(name string, statement []byte) error {
	name = strings.Trim(unsafe.ReplaceAllString(name, "_"), ".")
	if name == "" {
		return fmt.Errorf("handoff: empty statement name")
	}
	return fsutil.CreateExclusive(filepath.Join(h.Dir, name+Suffix), statement, 0o600)
}

// WriteNew is Write under the first free name of name, name-2, name-3, ...,
// so that a tool run several times in one step hands over every result.
// It returns the name used.
func (h Handoff) WriteNew(name string, statement []byte) (string, error) {
	try := name
	for i := 2; ; i++ {
		err := h.Write(try, statement)
		if err == nil {
			return try, nil
		}
		if !errors.Is(err, fs.ErrExist) || i > MaxStatements {
			return "", err
		}
		try = fmt.Sprintf("%s-%d", name, i)
	}
}

// Item is one handed-over statement.
type Item struct {
	Name string // file name without Suffix
	JSON []byte
}

// Collect reads every statement handed over in dir, sorted by name.
// Anything else in dir, an oversized file or too many files is an error:
// the child is part of the step, and what it leaves must be accounted for.
func Collect(dir string) ([]Item, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading handed-over statements: %w", err)
	}
	if len(ents) > MaxStatements {
		return nil, fmt.Errorf("the command handed over %d statements (at most %d)", len(ents), MaxStatements)
	}
	var items []Item
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") {
			continue // an unfinished write of the child's, never published
		}
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), Suffix) {
			return nil, fmt.Errorf("handed-over statement directory holds %q, which is not a *%s file", e.Name(), Suffix)
		}
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		if fi.Size() > maxSize {
			return nil, fmt.Errorf("handed-over statement %s is %d bytes (at most %d)", e.Name(), fi.Size(), maxSize)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading handed-over statement: %w", err)
		}
		items = append(items, Item{Name: strings.TrimSuffix(e.Name(), Suffix), JSON: b})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items, nil
}
