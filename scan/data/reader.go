// Package data scans instruction-tuning datasets for poisoning: records that
// plant a trigger→response backdoor, canned responses planted across
// unrelated instructions, entity steering, hidden characters, and plain
// anomalies. Every finding names its records and says why; the result is
// what the dataset-scan/v1 predicate records.
//
// Datasets are streamed (JSONL, JSON arrays, CSV) several times; between
// passes only bounded sketches and a few bytes per record are kept.
package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Format is a dataset file format.
type Format string

// Supported formats.
const (
	FormatJSONL   Format = "jsonl"
	FormatJSON    Format = "json"
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// ErrUnsupportedFormat is returned (wrapped) for a format the scanner cannot read.
var ErrUnsupportedFormat = errors.New("unsupported dataset format")

// ErrUnknownFormat is returned (wrapped) for a dataset whose format neither
// its name nor its first bytes tell; WithFormat says it.
var ErrUnknownFormat = errors.New("cannot detect the format")

// ErrEmpty is returned (wrapped) for a dataset of no bytes at all: there is
// nothing to scan, whatever its format.
var ErrEmpty = errors.New("file is empty")

// DetectFormat picks a format from the file name, then from the first
// bytes: Parquet's magic number, JSON's "[" or "{", or text whose first
// line has a comma (a CSV header). It returns "" when none of them fits.
func DetectFormat(name string, head []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return FormatJSONL
	case ".json":
		if t := bytes.TrimLeft(head, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '[' {
			return FormatJSON
		}
		return FormatJSONL
	case ".csv":
		return FormatCSV
	case ".parquet":
		return FormatParquet
	}
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return FormatParquet
	}
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) > 0 && t[0] == '[' {
		return FormatJSON
	}
	if len(t) > 0 && t[0] == '{' {
		return FormatJSONL
	}
	if looksCSV(t) {
		return FormatCSV
	}
	return ""
}

// looksCSV reports whether head is text (no NUL, valid UTF-8 but for a
// rune cut at its end) whose first line has a comma.
func looksCSV(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	line, _, _ := bytes.Cut(head, []byte("\n"))
	if bytes.IndexByte(line, ',') < 0 {
		return false
	}
	for len(head) > 0 {
		r, n := utf8.DecodeRune(head)
		if r == utf8.RuneError && n == 1 && utf8.FullRune(head) {
			return false
		}
		head = head[n:]
	}
	return true
}

// Mapping names the fields that hold each part of a record. Empty fields use
// the defaults, which cover Alpaca (instruction/input/output), Dolly
// (instruction/context/response), question/answer and prompt/completion
// sets, ShareGPT (conversations[{from,value}]) and chat (messages[{role,content}]).
type Mapping struct {
	Instruction, Input, Response, Source string
}

var (
	defInstruction = []string{"instruction", "prompt", "question", "query", "text"}
	defInput       = []string{"input", "context"}
	defResponse    = []string{"output", "response", "answer", "completion", "chosen", "target", "reply"}
	defSource      = []string{"source", "source_class", "sourceClass", "category_source"}
)

// Record is one instruction/response pair as read from a dataset.
type Record struct {
	Instruction, Input, Response, Source string
}

// Prompt is what a model is trained to respond to.
func (r Record) Prompt() string {
	if r.Input == "" {
		return r.Instruction
	}
	return r.Instruction + "\n" + r.Input
}

// Location says where a record is: Index is 0-based among records (for
// JSONL, among non-empty lines), Line is 1-based (JSONL line, CSV line of the
// record's start, or 0 for JSON arrays), Offset is the byte offset.
type Location struct {
	Index  int
	Line   int
	Offset int64
}

func (l Location) String() string {
	if l.Line > 0 {
		return fmt.Sprintf("record %d (line %d)", l.Index, l.Line)
	}
	return fmt.Sprintf("record %d (byte %d)", l.Index, l.Offset)
}

// RecordFunc receives each record in order; err is non-nil for a bad record
// (it is still counted and located). Returning an error stops reading.
type RecordFunc func(loc Location, rec Record, err error) error

// maxRecordBytes bounds one record so a hostile file cannot make us buffer
// without limit; longer records are reported as bad.
const maxRecordBytes = 64 << 20

// Read streams every record of r in the given format to fn. A returned
// error means the input could not be read further (I/O, or a JSON array
// whose syntax breaks); bad records alone are reported through fn.
func Read(r io.Reader, f Format, m Mapping, fn RecordFunc) error {
	switch f {
	case FormatJSONL:
		return readJSONL(r, m, fn)
	case FormatJSON:
		return readJSONArray(r, m, fn)
	case FormatCSV:
		return readCSV(r, m, fn)
	case FormatParquet:
		return readParquet(r, m, fn)
	}
	return fmt.Errorf("%w: %q", ErrUnsupportedFormat, f)
}

func readJSONL(r io.Reader, m Mapping, fn RecordFunc) error { return readJSONLAt(r, 0, m, fn) }

// readJSONLAt reads JSONL that starts at byte base of its file (a line
// start): offsets are the file's, indices and lines count from the first
// line read, and only the file's first line may start with a BOM.
func readJSONLAt(r io.Reader, base int64, m Mapping, fn RecordFunc) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		line   int
		idx    int
		off    = base
		long   []byte
		tooBig bool
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if !tooBig {
				long = append(long, chunk...)
				if len(long) > maxRecordBytes {
					tooBig, long = true, nil
				}
			}
			off += int64(len(chunk))
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		if len(chunk) == 0 && err == io.EOF && long == nil && !tooBig {
			return nil
		}
		start := off - int64(len(long))
		off += int64(len(chunk))
		b := chunk
		if long != nil {
			b = append(long, chunk...)
			long = nil
		}
		line++
		if tooBig {
			tooBig = false
			if e := fn(Location{Index: idx, Line: line, Offset: start}, Record{}, fmt.Errorf("record longer than %d bytes", maxRecordBytes)); e != nil {
				return e
			}
			idx++
		} else if t := bytes.TrimSpace(b); len(t) > 0 {
			if line == 1 && base == 0 {
				t = bytes.TrimPrefix(t, []byte("\ufeff"))
			}
			rec, perr := parseJSONRecord(t, m)
			if e := fn(Location{Index: idx, Line: line, Offset: start}, rec, perr); e != nil {
				return e
			}
			idx++
		}
		if err == io.EOF {
			return nil
		}
	}
}

// countingReader tracks the offset for JSON array element locations.
type countingReader struct {
	r   io.Reader
	n   int64
	add func(int64) // told every count, when set
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.add != nil {
		c.add(int64(n))
	}
	return n, err
}

func readJSONArray(r io.Reader, m Mapping, fn RecordFunc) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("reading JSON array: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("reading JSON array: top level is %v, not an array", tok)
	}
	for idx := 0; dec.More(); idx++ {
		off := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// The decoder cannot resynchronise inside an array: report the
			// element and stop with an error naming the offset.
			_ = fn(Location{Index: idx, Offset: off}, Record{}, fmt.Errorf("JSON syntax: %w", err))
			return fmt.Errorf("JSON array broken at element %d (byte %d): %w", idx, off, err)
		}
		rec, perr := parseJSONRecord(raw, m)
		if e := fn(Location{Index: idx, Offset: off}, rec, perr); e != nil {
			return e
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("JSON array not closed: %w", err)
	}
	return nil
}

// turn is one ShareGPT or chat message.
type turn struct {
	From, Role, Value, Content json.RawMessage
}

func parseJSONRecord(b []byte, m Mapping) (Record, error) {
	if !utf8.Valid(b) {
		return Record{}, errors.New("invalid UTF-8")
	}
	// Fast path: a flat object of strings, read without encoding/json.
	var buf [maxFlatFields]jsonField
	if fs, ok := scanFlatObject(b, string(b), buf[:0]); ok {
		rec, chat, err := mapRecord(m, func(k string) (string, bool) {
			for j := len(fs) - 1; j >= 0; j-- { // the last duplicate wins, as in encoding/json
				if string(fs[j].key) == k {
					return fs[j].val, true
				}
			}
			return "", false
		})
		if !chat {
			return rec, err
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Record{}, fmt.Errorf("JSON syntax error at byte %d: %w", se.Offset, err)
		}
		return Record{}, fmt.Errorf("not a JSON object: %w", err)
	}
	rec, chat, err := mapRecord(m, func(k string) (string, bool) {
		v, ok := obj[k]
		if !ok {
			return "", false
		}
		return textOf(v), true
	})
	if chat {
		for _, k := range chatKeys {
			if v, ok := obj[k]; ok {
				return chatRecord(v, rec.Source)
			}
		}
	}
	return rec, err
}

var chatKeys = []string{"messages", "conversations", "conversation"}

// mapRecord picks a record's fields by the mapping; chat says the record is
// a conversation (a chat key is present), to be read from its messages.
func mapRecord(m Mapping, lookup func(string) (string, bool)) (rec Record, chat bool, err error) {
	get := func(explicit string, defs []string) (string, bool) {
		if explicit != "" {
			return lookup(explicit)
		}
		for _, k := range defs {
			if v, ok := lookup(k); ok {
				return v, true
			}
		}
		return "", false
	}
	rec.Source, _ = get(m.Source, defSource)
	resp, okR := get(m.Response, defResponse)
	instr, okI := get(m.Instruction, defInstruction)
	if okR && okI {
		rec.Instruction, rec.Response = instr, resp
		rec.Input, _ = get(m.Input, defInput)
		return rec, false, nil
	}
	if okR && m.Instruction == "" {
		// {"input": ..., "output": ...}: the input is the instruction.
		if in, ok := get(m.Input, defInput); ok {
			rec.Instruction, rec.Response = in, resp
			return rec, false, nil
		}
	}
	if m.Instruction == "" && m.Response == "" {
		for _, k := range chatKeys {
			if _, ok := lookup(k); ok {
				return rec, true, nil
			}
		}
	}
	switch {
	case !okI:
		return rec, false, errors.New("no instruction field (set the field mapping)")
	default:
		return rec, false, errors.New("no response field (set the field mapping)")
	}
}

// chatRecord turns a conversation into a record: the last assistant turn is
// the response, the user turn before it the instruction, earlier turns the
// input.
func chatRecord(v json.RawMessage, source string) (Record, error) {
	var turns []turn
	if err := json.Unmarshal(v, &turns); err != nil {
		return Record{}, fmt.Errorf("conversation is not a list of messages: %w", err)
	}
	ms := make([]chatTurn, 0, len(turns))
	for _, t := range turns {
		role := textOf(t.Role)
		if role == "" {
			role = textOf(t.From)
		}
		text := textOf(t.Content)
		if text == "" {
			text = textOf(t.Value)
		}
		ms = append(ms, chatTurn{role, text})
	}
	return turnsRecord(ms, source)
}

// chatTurn is one message of a conversation: its role as written and text.
type chatTurn struct{ role, text string }

// turnsRecord is chatRecord over decoded turns (JSON or Parquet).
func turnsRecord(ms []chatTurn, source string) (Record, error) {
	for i := range ms {
		switch strings.ToLower(ms[i].role) {
		case "assistant", "gpt", "bot", "model", "chatgpt":
			ms[i].role = "assistant"
		case "user", "human", "prompter":
			ms[i].role = "user"
		}
	}
	last := -1
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].role == "assistant" {
			last = i
			break
		}
	}
	if last < 0 {
		return Record{Source: source}, errors.New("conversation has no assistant turn")
	}
	rec := Record{Response: ms[last].text, Source: source}
	u := -1
	for i := last - 1; i >= 0; i-- {
		if ms[i].role == "user" {
			u = i
			break
		}
	}
	if u < 0 {
		return rec, errors.New("conversation has no user turn before the assistant's")
	}
	rec.Instruction = ms[u].text
	var hist strings.Builder
	for _, x := range ms[:u] {
		hist.WriteString(strings.ToUpper(x.role))
		hist.WriteString(": ")
		hist.WriteString(x.text)
		hist.WriteByte('\n')
	}
	rec.Input = strings.TrimSuffix(hist.String(), "\n")
	return rec, nil
}

// textOf renders a JSON value as text: strings unquoted, null empty,
// anything else as its JSON.
func textOf(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		// Fast path: no escapes, so the bytes between the quotes are the text.
		if len(v) >= 2 && v[len(v)-1] == '"' && bytes.IndexByte(v[1:len(v)-1], '\\') < 0 && bytes.IndexByte(v[1:len(v)-1], '"') < 0 {
			return string(v[1 : len(v)-1])
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

func readCSV(r io.Reader, m Mapping, fn RecordFunc) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("reading CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	pick := func(explicit string, defs []string) int { return pickColumn(col, explicit, defs) }
	ci, cin, cr2, cs := pick(m.Instruction, defInstruction), pick(m.Input, defInput), pick(m.Response, defResponse), pick(m.Source, defSource)
	if ci < 0 && m.Instruction == "" && cin >= 0 {
		ci, cin = cin, -1 // input/output columns: the input is the instruction
	}
	if ci < 0 || cr2 < 0 {
		return fmt.Errorf("CSV header %q has no instruction and response columns (set the field mapping)", header)
	}
	for idx := 0; ; idx++ {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		loc := Location{Index: idx, Offset: cr.InputOffset()}
		if err == nil && len(row) > 0 {
			loc.Line, _ = cr.FieldPos(0)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				loc.Line = pe.StartLine
				if e := fn(loc, Record{}, fmt.Errorf("CSV: %w", err)); e != nil {
					return e
				}
				continue
			}
			return err
		}
		field := func(i int) string {
			if i < 0 || i >= len(row) {
				return ""
			}
			return row[i]
		}
		rec := Record{Instruction: field(ci), Input: field(cin), Response: field(cr2), Source: field(cs)}
		var rerr error
		switch {
		case len(row) <= ci || len(row) <= cr2:
			rerr = fmt.Errorf("CSV row has %d fields, header has %d", len(row), len(header))
		case !utf8.ValidString(rec.Instruction) || !utf8.ValidString(rec.Input) || !utf8.ValidString(rec.Response):
			rerr = errors.New("invalid UTF-8")
		}
		if e := fn(loc, rec, rerr); e != nil {
			return e
		}
	}
}

// pickColumn finds a field's column: the explicitly mapped name, or else the
// first default name present; -1 when there is none.
func pickColumn(col map[string]int, explicit string, defs []string) int {
	if explicit != "" {
		if i, ok := col[explicit]; ok {
			return i
		}
		return -1
	}
	for _, k := range defs {
		if i, ok := col[k]; ok {
			return i
		}
	}
	return -1
}
