package digest

import (
	"io"

	"github.com/mlattest/mlattest/internal/progress"
)

// isTerminal reports whether w is a terminal; only then is a bar drawn, so
// logs and pipes never get control characters.
func isTerminal(w io.Writer) bool { return progress.IsTerminal(w) }

// newProgress is a "hashing" bar, or nil (which draws nothing).
func newProgress(o options, total int64) *progress.Bar {
	if o.progress == nil || total < o.progressMin || !o.isTerminal(o.progress) {
		return nil
	}
	return progress.Draw(o.progress, total, "hashing")
}
