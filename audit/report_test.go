package audit

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	ctx := context.Background()
	vs := fakeSigstore(t)
	l := newTestLog(t, nil)
	l.add(t, hashedRekordEntry(t, vs, "alice@example.com", issuerA, sha("known 1")),
		hashedRekordEntry(t, vs, "alice@example.com", issuerA, sha("forged")),
		hashedRekordEntry(t, vs, "mallory@example.com", issuerB, sha("model")),
		hashedRekordEntry(t, vs, "bob@example.com", issuerB, sha("other")))
	lg := l.open(t)
	prev, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.add(t, hashedRekordEntry(t, vs, "alice@example.com", issuerA, sha("known 2")))
	r, err := lg.BuildReport(ctx, prev, testWatch(t), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	md := r.Markdown("timeline.svg")
	for _, want := range []string{
		"size 5", "Consistency with the previous checkpoint (size 4): proven",
		"| alice@example.com from https://issuer-a.test | 3 | 0 | 4 |",
		"## Alarms (2)", "**unknown-attestation** (entry 1)", "**unknown-signer** (entry 2)",
		"![signing activity per identity](timeline.svg)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "bob@") || strings.Contains(md, "| mallory") {
		t.Errorf("non-functionaries listed as identities:\n%s", md)
	}
	svg := r.TimelineSVG()
	if strings.Count(svg, "<title>entry") != 3 || strings.Count(svg, `stroke="#c00"`) != 1 {
		t.Errorf("timeline: %s", svg)
	}
	if h := r.HTML(); !strings.Contains(h, "<svg") || !strings.Contains(h, "unknown-signer") {
		t.Errorf("html: %s", h)
	}
	// Nothing since the future.
	r, err = lg.BuildReport(ctx, nil, testWatch(t), time.Now().Add(time.Hour))
	if err != nil || len(r.ByIdentity) != 0 || len(r.Alarms) != 0 {
		t.Fatalf("%v %+v", err, r)
	}
}
