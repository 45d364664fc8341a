package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// maxParquetBytes bounds the Parquet file held in memory: the format's
// footer is at the end, so a reader needs random access to the whole file.
const maxParquetBytes int64 = 4 << 30 // typed: the bound must compile on 32-bit platforms too

// readParquet reads the flat string columns of a Parquet file (Hugging Face
// datasets' usual layout) or, when there are no flat instruction and
// response columns, a chat column: a list of {role|from, content|value}
// structs under messages/conversations/conversation, read as JSON chat
// records are. A file that cannot be opened (e.g. truncated, so the footer
// is missing) is reported as one bad record at its end, and reading stops.
func readParquet(r io.Reader, m Mapping, fn RecordFunc) error {
	b, err := io.ReadAll(io.LimitReader(r, maxParquetBytes+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > maxParquetBytes {
		return fmt.Errorf("parquet file larger than %d bytes", maxParquetBytes)
	}
	var pf *parquet.File
	err = recoverParquet(func() (err error) {
		pf, err = parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		return err
	})
	if err != nil {
		err = fmt.Errorf("parquet: cannot open (truncated or not Parquet): %w", err)
		_ = fn(Location{Index: 0, Offset: int64(len(b))}, Record{}, err)
		return err
	}
	col := map[string]int{}
	for i, path := range pf.Schema().Columns() {
		col[strings.Join(path, ".")] = i
	}
	pick := func(explicit string, defs []string) int { return pickColumn(col, explicit, defs) }
	ci, cin, cr, cs := pick(m.Instruction, defInstruction), pick(m.Input, defInput), pick(m.Response, defResponse), pick(m.Source, defSource)
	chatRole, chatText := -1, -1
	if ci < 0 || cr < 0 {
		chatRole, chatText = chatColumns(pf.Schema().Columns())
		if chatRole < 0 {
			names := make([]string, 0, len(col))
			for k := range col {
				names = append(names, k)
			}
			sort.Strings(names)
			return fmt.Errorf("parquet columns %q have no flat instruction and response columns and no chat column (set the field mapping)", names)
		}
		ci, cin, cr = -1, -1, -1
	}
	idx := 0
	buf := make([]parquet.Row, 128)
	for g, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			var n int
			rerr := recoverParquet(func() (err error) {
				n, err = rows.ReadRows(buf)
				return err
			})
			for _, row := range buf[:n] {
				var rec Record
				var bad error
				var roles, texts []string
				for _, v := range row {
					if v.IsNull() {
						continue
					}
					var dst *string
					switch v.Column() {
					case chatRole, chatText:
						s := v.String()
						if !utf8.ValidString(s) {
							bad = errors.New("invalid UTF-8")
						}
						if v.Column() == chatRole {
							roles = append(roles, s)
						} else {
							texts = append(texts, s)
						}
						continue
					case ci:
						dst = &rec.Instruction
					case cin:
						dst = &rec.Input
					case cr:
						dst = &rec.Response
					case cs:
						dst = &rec.Source
					default:
						continue
					}
					s := v.String()
					if !utf8.ValidString(s) {
						bad = errors.New("invalid UTF-8")
					}
					if *dst != "" {
						*dst += "\n" + s // a repeated column: keep every value
					} else {
						*dst = s
					}
				}
				if chatRole >= 0 {
					crec, err := parquetChat(roles, texts, rec.Source)
					rec = crec
					if bad == nil {
						bad = err
					}
				}
				if e := fn(Location{Index: idx}, rec, bad); e != nil {
					rows.Close()
					return e
				}
				idx++
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rows.Close()
				err := fmt.Errorf("parquet: row group %d, after row %d: %w", g, idx, rerr)
				_ = fn(Location{Index: idx}, Record{}, err)
				return err
			}
		}
		rows.Close()
	}
	return nil
}

// recoverParquet runs call, one call into the Parquet library, and turns a
// panic in it into an error: the library trusts sizes in the file it reads
// (a negative page length panics in makeslice), and a malformed file must
// be a bad record, never a crash.
func recoverParquet(call func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed file: %v", r)
		}
	}()
	return call()
}

// chatColumns finds the role and text leaf columns of a chat column: a
// repeated group under one of chatKeys whose leaves are role (or from) and
// content (or value), under the same parent. -1, -1 when there is none.
func chatColumns(paths [][]string) (role, text int) {
	for _, key := range chatKeys {
		leaves := map[string]map[string]int{} // parent path -> leaf name -> column
		var parents []string
		for i, p := range paths {
			if len(p) < 2 || p[0] != key {
				continue
			}
			par := strings.Join(p[:len(p)-1], ".")
			if leaves[par] == nil {
				leaves[par] = map[string]int{}
				parents = append(parents, par)
			}
			leaves[par][p[len(p)-1]] = i
		}
		for _, par := range parents {
			role, text = pickColumn(leaves[par], "", chatRoleLeaves), pickColumn(leaves[par], "", chatTextLeaves)
			if role >= 0 && text >= 0 {
				return role, text
			}
		}
	}
	return -1, -1
}

// The leaves of a chat message struct, in order of preference.
var (
	chatRoleLeaves = []string{"role", "from"}
	chatTextLeaves = []string{"content", "value"}
)

// parquetChat pairs a row's role and text values (in order) into turns.
func parquetChat(roles, texts []string, source string) (Record, error) {
	if len(roles) != len(texts) {
		return Record{Source: source}, fmt.Errorf("conversation has %d roles for %d messages", len(roles), len(texts))
	}
	ms := make([]chatTurn, len(roles))
	for i := range roles {
		ms[i] = chatTurn{roles[i], texts[i]}
	}
	return turnsRecord(ms, source)
}
