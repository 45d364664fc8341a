package progress

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type obs struct {
		at   time.Duration
		done int64
	}
	for _, tc := range []struct {
		name   string
		obs    []obs
		want   float64
		wantOK bool
	}{
		{name: "nothing yet"},
		// 1 GB from the page cache in 2 ms: no "500 GB/s".
		{name: "first burst", obs: []obs{{2 * time.Millisecond, 1 << 30}}},
		{name: "under a second", obs: []obs{{900 * time.Millisecond, 900 << 20}}},
		{name: "too few bytes", obs: []obs{{3 * time.Second, 1000}}},
		{name: "after a second", obs: []obs{{2 * time.Millisecond, 1 << 30}, {2 * time.Second, 2 << 30}}, want: float64(2<<30) / 2, wantOK: true},
		{
			// The window forgets the fast start: 10 s at 100 MB/s after a
			// 1 GB burst reads 100 MB/s, not the average since the start.
			name: "window",
			obs: []obs{{10 * time.Millisecond, 1e9}, {2 * time.Second, 1e9 + 2e8}, {4 * time.Second, 1e9 + 4e8},
				{6 * time.Second, 1e9 + 6e8}, {8 * time.Second, 1e9 + 8e8}, {10 * time.Second, 2e9}},
			want: 1e8, wantOK: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Meter
			m.Start(t0)
			for _, o := range tc.obs {
				m.Observe(at(o.at), o.done)
			}
			got, ok := m.Rate()
			if ok != tc.wantOK || ok && (got < tc.want*0.999 || got > tc.want*1.001) {
				t.Errorf("Rate() = %g, %v; want %g, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[float64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1.5e6: "1.5 MB", 488e9: "488.0 GB", 2e18: "2.0 EB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%g) = %q, want %q", n, got, want)
		}
	}
}

func TestBar(t *testing.T) {
	var b strings.Builder
	bar := Draw(&b, 3<<20, "hashing")
	t0 := time.Now()
	clock := t0
	bar.now = func() time.Time { return clock }
	bar.meter.Start(t0)
	bar.Add(1 << 20) // at once: no rate
	clock = t0.Add(2 * time.Second)
	time.Sleep(150 * time.Millisecond) // past the bar's throttle
	bar.Add(1 << 20)
	bar.Finish()
	out := b.String()
	if !strings.Contains(out, "hashing 1.0 MB / 3.1 MB") {
		t.Errorf("no count on the bar: %q", out)
	}
	if strings.Contains(strings.Split(out, "hashing 2.1 MB")[0], "/s") {
		t.Errorf("a rate before a second had passed: %q", out)
	}
	if !strings.Contains(out, "hashing 2.1 MB / 3.1 MB, 1.0 MB/s") {
		t.Errorf("no rate after two seconds: %q", out)
	}

	// Off a terminal: nothing, and a nil bar is safe.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if New(w, 10, "x") != nil || New(&b, 10, "x") != nil {
		t.Error("a bar on a pipe or a buffer")
	}
	var none *Bar
	none.Add(1)
	none.Finish()
}
