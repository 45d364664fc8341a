// Package progress draws byte-count progress bars on a terminal, for the
// commands that read large files (hashing, scanning). Nothing is drawn
// where the output is not a terminal, so logs and pipes never get control
// characters.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// MinTotal is the amount of work from which a bar is worth drawing: below
// it the work takes about a second or less.
const MinTotal = 256 << 20

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// Bar is a progress bar over a number of bytes. A nil *Bar draws nothing;
// its methods are safe for concurrent use.
type Bar struct {
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	what    string
	total   int64
	done    int64
	meter   Meter
	now     func() time.Time
	updated time.Time
}

// New returns a bar on w for total bytes, described by what ("hashing"),
// or nil when w is not a terminal.
func New(w io.Writer, total int64, what string) *Bar {
	if w == nil || !IsTerminal(w) {
		return nil
	}
	return Draw(w, total, what)
}

// Draw is New for a w known to be a terminal (or a test's buffer).
func Draw(w io.Writer, total int64, what string) *Bar {
	b := &Bar{what: what, total: total, now: time.Now}
	b.meter.Start(b.now())
	// The bar's own byte count and rate are off: its first rate sample
	// divides what the first read returned by microseconds. The
	// description carries the counts and a rate from Meter instead.
	b.bar = progressbar.NewOptions64(max(total, 1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(b.describe(0)),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(false), // from the bar's own rate
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)
	return b
}

// Add counts n more bytes done.
func (b *Bar) Add(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if now := b.now(); now.Sub(b.updated) >= 200*time.Millisecond {
		b.updated = now
		b.meter.Observe(now, b.done)
		b.bar.Describe(b.describe(b.done))
	}
	_ = b.bar.Add64(n)
}

// Finish clears the bar.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Clear()
	_ = b.bar.Exit()
}

// describe is "what 1.2 GB / 5.0 GB, 350 MB/s": the rate once Meter has
// one.
func (b *Bar) describe(done int64) string {
	s := fmt.Sprintf("%s %s / %s", b.what, Bytes(float64(done)), Bytes(float64(b.total)))
	if r, ok := b.meter.Rate(); ok {
		s += ", " + Bytes(r) + "/s"
	}
	return s
}

// Bytes renders n bytes with a decimal unit: "512 B", "1.5 MB".
func Bytes(n float64) string {
	const units = "kMGTPE"
	if n < 1000 {
		return fmt.Sprintf("%.0f B", n)
	}
	i := -1
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", n, units[i])
}

// Meter turns (time, bytes done) samples into a rate worth showing. No rate
// is given before MinElapsed and MinBytes: the first read of a file often
// comes from the page cache or a read-ahead, and dividing it by the
// microseconds it took gives absurd rates ("488 GB/s"). After that the
// rate is the average over the last Window (from the start until then).
type Meter struct {
	samples []sample
	start   time.Time
}

type sample struct {
	t    time.Time
	done int64
}

// Thresholds of Meter.
const (
	MinElapsed = time.Second
	MinBytes   = 1 << 20
	Window     = 5 * time.Second
)

// Start resets the meter at t, with nothing done.
func (m *Meter) Start(t time.Time) {
	m.start = t
	m.samples = append(m.samples[:0], sample{t, 0})
}

// Observe records that done bytes were done by t (t does not go back).
func (m *Meter) Observe(t time.Time, done int64) {
	m.samples = append(m.samples, sample{t, done})
	// Keep one sample at or before the window's start, to measure from.
	cut := 0
	for cut+1 < len(m.samples) && t.Sub(m.samples[cut+1].t) >= Window {
		cut++
	}
	m.samples = m.samples[cut:]
}

// Rate is the bytes per second over the window, once there is one worth
// showing.
func (m *Meter) Rate() (float64, bool) {
	if len(m.samples) < 2 {
		return 0, false
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	if last.t.Sub(m.start) < MinElapsed || last.done < MinBytes {
		return 0, false
	}
	d := last.t.Sub(first.t).Seconds()
	if d <= 0 {
		return 0, false
	}
	return float64(last.done-first.done) / d, true
}
