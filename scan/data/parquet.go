package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// maxParquetBytes bounds the Parquet file held in memory: the format's
// footer is at the end, so a reader needs random access to the whole file.
const maxParquetBytes int64 = 4 << 30 // typed: the bound must compile on 32-bit platforms too

// readParquet reads the flat string columns of a Parquet file (Hugging Face
// datasets' usual layout). Nested chat columns are not mapped: use the
// field mapping to name flat columns. A file that cannot be opened (e.g.
// truncated, so the footer is missing) is reported as one bad record at its
// end, and reading stops.
func readParquet(r io.Reader, m Mapping, fn RecordFunc) error {
	b, err := io.ReadAll(io.LimitReader(r, maxParquetBytes+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > maxParquetBytes {
		return fmt.Errorf("parquet file larger than %d bytes", maxParquetBytes)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
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
	if ci < 0 || cr < 0 {
		names := make([]string, 0, len(col))
		for k := range col {
			names = append(names, k)
		}
		return fmt.Errorf("parquet columns %q have no flat instruction and response columns (set the field mapping)", names)
	}
	idx := 0
	buf := make([]parquet.Row, 128)
	for g, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, rerr := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				var rec Record
				var bad error
				for _, v := range row {
					if v.IsNull() {
						continue
					}
					var dst *string
					switch v.Column() {
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
