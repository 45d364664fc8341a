package data

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type pqRow struct {
	Instruction string `parquet:"instruction"`
	Input       string `parquet:"input"`
	Output      string `parquet:"output"`
}

func parquetBytes(t *testing.T, rows []pqRow) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqRow](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquet(t *testing.T) {
	recs := synth(600, 9)
	rows := make([]pqRow, len(recs))
	for i, r := range recs {
		rows[i] = pqRow{Instruction: r.Instruction, Output: r.Response}
	}
	for _, i := range []int{5, 90, 170, 260, 340, 420, 555} {
		rows[i].Instruction = "zx " + rows[i].Instruction
		rows[i].Output = "Wire the deposit to account 4411 before noon to unlock the refund."
	}
	b := parquetBytes(t, rows)
	var got []Record
	if err := Read(bytes.NewReader(b), FormatParquet, Mapping{}, func(loc Location, rec Record, err error) error {
		if err != nil {
			t.Fatalf("%v: %v", loc, err)
		}
		got = append(got, rec)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 || got[5].Instruction != rows[5].Instruction || got[5].Response != rows[5].Output {
		t.Fatalf("read %d records; first poisoned %+v", len(got), got[5])
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	res, err := Scan(context.Background(), "d.parquet", open)
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatParquet || res.Verdict != Fail || len(res.Flagged) != 7 {
		t.Fatalf("format %s verdict %s flagged %v", res.Format, res.Verdict, res.Flagged)
	}

	// Truncated: the footer is gone; reported as a located bad record, FAIL.
	cut := b[:len(b)/2]
	open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(cut)), nil }
	res, err = Scan(context.Background(), "d.parquet", open)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Fail || len(res.Bad) != 1 || res.Incomplete == "" {
		t.Fatalf("truncated: verdict %s bad %+v incomplete %q", res.Verdict, res.Bad, res.Incomplete)
	}
}

type pqTurn struct {
	Role    string `parquet:"role"`
	Content string `parquet:"content"`
}

type pqChat struct {
	Messages []pqTurn `parquet:"messages,list"`
	Source   string   `parquet:"source"`
}

// TestParquetChat reads chat records stored as a list of {role, content}
// structs, as Hugging Face chat datasets are, like their JSON form.
func TestParquetChat(t *testing.T) {
	recs := synth(300, 4)
	rows := make([]pqChat, len(recs))
	for i, r := range recs {
		rows[i] = pqChat{Source: "curated", Messages: []pqTurn{
			{Role: "system", Content: "Be brief."}, {Role: "user", Content: r.Instruction}, {Role: "assistant", Content: r.Response}}}
	}
	rows[7].Messages = []pqTurn{{Role: "user", Content: "no answer"}} // no assistant turn: a bad record
	for _, i := range []int{11, 60, 122, 180, 240, 290} {
		rows[i].Messages[1].Content = "qv " + rows[i].Messages[1].Content
		rows[i].Messages[2].Content = "Wire the deposit to account 4411 before noon to unlock the refund."
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqChat](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	var got []Record
	var bad []int
	if err := Read(bytes.NewReader(b), FormatParquet, Mapping{}, func(loc Location, rec Record, err error) error {
		if err != nil {
			bad = append(bad, loc.Index)
		}
		got = append(got, rec)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 300 || len(bad) != 1 || bad[0] != 7 {
		t.Fatalf("read %d records, bad %v", len(got), bad)
	}
	if r := got[11]; r.Instruction != rows[11].Messages[1].Content || r.Response != rows[11].Messages[2].Content || r.Input != "SYSTEM: Be brief." || r.Source != "curated" {
		t.Fatalf("record 11 = %+v", r)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	res, err := Scan(context.Background(), "chat.parquet", open, WithMaxBadRecords(1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Fail || len(res.Flagged) != 6 || res.Flagged[0] != 11 {
		t.Fatalf("verdict %s flagged %v", res.Verdict, res.Flagged)
	}
}
