package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/internal/handoff"
	"github.com/mlattest/mlattest/internal/version"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/scan/data"
	"github.com/mlattest/mlattest/store"
)

// dataScanHandoffName is the name the statement is handed over under.
const dataScanHandoffName = "dataset-scan"

type scanDataFlags struct {
	jsonOut     bool
	out, report string
	format      string
	mapping     data.Mapping
	maxBad      int
	minSupport  int
	maxShare    []string
	minShare    []string
	sources     string
	// shard and partOut: a worker of a sharded scan (scanshard.go)
	shard, partOut string
}

func newScanDataCmd() *cobra.Command {
	var fl scanDataFlags
	cmd := &cobra.Command{
		Use:   "data [flags] FILE...",
		Short: "Scan instruction-tuning datasets for poisoning",
		Long: `Scan instruction/response datasets (JSONL, JSON arrays, CSV, Parquet; Alpaca, Dolly,
question/answer, prompt/completion, ShareGPT "conversations" and chat
"messages" records) for poisoning and anomalies. Every finding names its
records (0-based; for JSONL the index among non-empty lines) and says why:

  trigger-response   a rare prompt n-gram whose records share a response
                     feature (the same answer, phrase or link) far beyond
                     chance (hypergeometric test, false-discovery rate), on
                     prompts that are otherwise unrelated
  response-cluster   one (near-)identical response to many distinct,
                     unrelated prompts
  injected-phrase    one sentence recurring verbatim in responses to
                     unrelated prompts
  entity-sentiment   a named entity whose responses lean one way far beyond
                     other entities (robust z-test)
  behaviour-skew     a prompt name or phrase whose records answer alike (one
                     short label, a refusal, one sentiment) while the records
                     of the same task around them do not (exact tests against
                     matched controls and the dataset, false-discovery rate)
  code-injection     a line in code answers (Python, shell, JavaScript) with
                     network egress, credential/environment reads, encoded
                     payloads, eval/exec or writes outside the working
                     directory the instruction did not ask for; fails when
                     it recurs across distinct prompts or runs fetched or
                     decoded content
  hidden-characters  zero-width, bidi, tag or control characters where they
                     hide something (in Latin words, code or URLs; overrides),
                     not their legitimate uses (emoji ZWJ, ZWNJ in Persian
                     and Indic, direction marks); homoglyph words mixing
                     Latin with Cyrillic/Greek
  source-mix         share of records per source class against the bounds
                     (--max/min-source-share; --sources classifies source
                     names such as "dolly-15k" into classes)
  malformed-record   unparseable records (located by line or offset)
  duplicates, empty-response, length-outlier   informational statistics

Only "fail" findings flag records and make the verdict FAIL; malformed
records do unless --max-bad-records tolerates them.

Inside "mlattest run" the dataset-scan statement
(` + predicates.DatasetScanV1 + `) is handed over to the step,
bound to its step and run, and signed with its link; a layout can require
  predicate.verdict == "PASS"
With --out FILE the unsigned statement is also written to FILE.

` + storeURIHelp + `

--shard i/N --part-out PREFIX makes this process worker i of N of one scan
(in a Kubernetes Indexed Job, i and N are read from JOB_COMPLETION_INDEX and
JOB_COMPLETIONS): it reads its byte range of every dataset, a FILE or an
object of a location (a JSONL dataset is cut at line starts into N ranges,
an object's by ranged GETs; a dataset of another format is read whole by one
worker), summarises its records and writes PREFIX/part-iiiii-of-NNNNN.json
and .records. "mlattest merge PREFIX" then prints exactly what this command
prints for the same FILEs or locations and options, reading each dataset
(unchanged) only for its digest and the lines findings quote.

Exit status: 0 when every dataset passes, 1 otherwise, 2 for a usage error or
an unreadable file (nothing is written then).`,
		Example: `  mlattest scan data train.jsonl
  mlattest scan data --json --report scan.md data/*.jsonl
  mlattest run --step scan-data -- mlattest scan data data/train.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runScanData(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), args, fl)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fl.jsonOut, "json", false, "print one JSON object per dataset: path, records, verdict, flagged, findings")
	f.StringVar(&fl.out, "out", "", "also write the unsigned dataset-scan statement to `FILE`")
	f.StringVar(&fl.report, "report", "", "write a human report with the flagged records to `FILE` (.html for HTML, else Markdown)")
	f.StringVar(&fl.format, "format", "", "input format: jsonl, json, csv, parquet (default: from the file name and content)")
	f.StringVar(&fl.mapping.Instruction, "instruction", "", "field holding the instruction (default: instruction, prompt, question, query, text)")
	f.StringVar(&fl.mapping.Input, "input", "", "field holding the input/context (default: input, context)")
	f.StringVar(&fl.mapping.Response, "response", "", "field holding the response (default: output, response, answer, completion, chosen, target)")
	f.StringVar(&fl.mapping.Source, "source", "", "field holding the record's source class (default: source)")
	f.IntVar(&fl.maxBad, "max-bad-records", 0, "malformed records tolerated before the verdict is FAIL")
	f.IntVar(&fl.minSupport, "min-support", 0, "fewest records a trigger, cluster or entity needs (default 5)")
	f.StringArrayVar(&fl.maxShare, "max-source-share", nil, "`CLASS=FRACTION`: most share of records from a source class (internal, curated, web, crowd, synthetic); repeatable")
	f.StringArrayVar(&fl.minShare, "min-source-share", nil, "`CLASS=FRACTION`: least share of records from a source class; repeatable")
	f.StringVar(&fl.shard, "shard", "", "scan shard `i/N` of the datasets only, for mlattest merge (default: JOB_COMPLETION_INDEX/JOB_COMPLETIONS when --part-out is set)")
	f.StringVar(&fl.partOut, "part-out", "", "with --shard: write this worker's part under `PREFIX` (a directory or s3://BUCKET/PREFIX)")
	f.StringVar(&fl.sources, "sources", "", "sources manifest `FILE`: a JSON object from the source names records carry (exact or glob) to classes, e.g. {\"dolly-15k\": \"crowd\", \"reddit-*\": \"web\"}; names no entry classifies fail the source-mix check")
	return cmd
}

func parseShares(flag string, vals []string) (map[string]float64, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string]float64{}
	for _, v := range vals {
		k, x, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("--%s %q: want CLASS=FRACTION", flag, v)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		known := false
		for _, c := range predicates.SourceClasses {
			known = known || c == k
		}
		if !known {
			return nil, fmt.Errorf("--%s %q: source class must be one of %s", flag, v, strings.Join(predicates.SourceClasses, ", "))
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil || f < 0 || f > 1 {
			return nil, fmt.Errorf("--%s %q: fraction must be between 0 and 1", flag, v)
		}
		out[k] = f
	}
	return out, nil
}

func runScanData(ctx context.Context, stdout, stderr io.Writer, args []string, fl scanDataFlags) error {
	usage := func(err error) error { return withCode(exitUsage, fmt.Errorf("scan data: %w", err)) }
	maxS, err := parseShares("max-source-share", fl.maxShare)
	if err != nil {
		return usage(err)
	}
	minS, err := parseShares("min-source-share", fl.minShare)
	if err != nil {
		return usage(err)
	}
	switch data.Format(fl.format) {
	case "", data.FormatJSONL, data.FormatJSON, data.FormatCSV, data.FormatParquet:
	default:
		return usage(fmt.Errorf("--format %q: want jsonl, json, csv or parquet", fl.format))
	}
	var manifest data.SourceManifest
	if fl.sources != "" {
		if len(maxS)+len(minS) == 0 {
			return usage(errors.New("--sources needs --max-source-share or --min-source-share: it only classifies sources for those bounds"))
		}
		b, err := fsutil.ReadFileMax(fl.sources, 1<<20)
		if err != nil {
			return usage(fmt.Errorf("--sources %s: %w", fl.sources, fsutil.Cause(err)))
		}
		if manifest, err = data.ParseSourceManifest(b); err != nil {
			return usage(fmt.Errorf("--sources %s: %w", fl.sources, err))
		}
	}
	if fl.maxBad < 0 || fl.minSupport < 0 {
		return usage(errors.New("--max-bad-records and --min-support must not be negative"))
	}
	opts := []data.Option{
		data.WithFormat(data.Format(fl.format)), data.WithMapping(fl.mapping),
		data.WithMaxBadRecords(fl.maxBad), data.WithSourceLimits(maxS, minS), data.WithSourceManifest(manifest),
		data.WithProgress(stderr),
	}
	if fl.minSupport > 0 {
		opts = append(opts, data.WithMinSupport(fl.minSupport))
	}
	if err := errors.Join(checkOutFile("--out", fl.out), checkOutFile("--report", fl.report)); err != nil {
		return usage(err)
	}
	if fl.shard != "" || fl.partOut != "" {
		// The Indexed Job's variables count only for a sharded scan.
		sh, sharding, err := parseShard(fl.shard, os.Getenv)
		switch {
		case err != nil:
			return usage(err)
		case !sharding:
			return usage(errors.New("--part-out needs --shard i/N (or JOB_COMPLETION_INDEX and JOB_COMPLETIONS)"))
		case fl.partOut == "":
			return usage(errors.New("--shard needs --part-out PREFIX"))
		case fl.out != "" || fl.report != "":
			return usage(errors.New("--out and --report are for mlattest merge's result, not a worker's part"))
		}
		return scanDataShard(ctx, stderr, args, fl.partOut, sh, opts)
	}
	h, inRun := handoff.FromEnv(os.Getenv)
	var results []*data.Result
	for _, p := range args {
		if p == "" {
			return usage(errors.New("empty FILE"))
		}
		if store.IsURL(p) {
			rs, err := scanDataStore(ctx, p, opts)
			if err != nil {
				return usage(err)
			}
			results = append(results, rs...)
			continue
		}
		r, err := data.ScanFile(ctx, p, opts...)
		switch {
		case errors.Is(err, data.ErrUnknownFormat):
			return usage(fmt.Errorf("%s: cannot detect the format (use --format)", p))
		case errors.Is(err, data.ErrEmpty):
			return usage(fmt.Errorf("%s: file is empty: cannot detect the format", p))
		case err != nil:
			return usage(err)
		}
		results = append(results, r)
	}
	if inRun || fl.out != "" {
		in, err := dataScanInput(results)
		if err != nil {
			return usage(err)
		}
		if err := writeDataScan(in, h, inRun, fl.out); err != nil {
			return usage(err)
		}
	}
	if fl.report != "" {
		if err := writeDataReport(fl.report, results, data.Format(fl.format), fl.mapping); err != nil {
			return usage(err)
		}
	}
	return reportScanData(stdout, stderr, results, fl.jsonOut)
}

// reportScanData prints the results of a dataset scan and its hints; the
// error is the exit status (1 when a dataset failed).
func reportScanData(stdout, stderr io.Writer, results []*data.Result, jsonOut bool) error {
	if err := printDataScan(stdout, results, jsonOut); err != nil {
		return withCode(exitUsage, fmt.Errorf("scan data: writing output: %w", err))
	}
	writeDataHints(stderr, results)
	failed := 0
	for _, r := range results {
		if r.Verdict != data.Pass {
			failed++
		}
	}
	if failed > 0 {
		return withCode(exitRejected, fmt.Errorf("scan data: %d of %d datasets failed", failed, len(results)))
	}
	return nil
}

// findingFlagHints are the flags that answer a finding code; the library's
// reasons name its options, not flags.
var findingFlagHints = map[string]string{
	data.CodeNoSource:           "name the field that holds each record's source with --source FIELD",
	data.CodeUnclassifiedSource: "classify the source names with --sources FILE (a JSON object from source name or glob to class)",
}

// writeDataHints writes one hint line per finding code that has one.
func writeDataHints(w io.Writer, results []*data.Result) {
	var codes []string
	for _, r := range results {
		for _, f := range r.Findings {
			codes = append(codes, f.Code)
		}
	}
	writeHints(w, findingFlagHints, codes)
}

// maxStatementRecords caps the record indices a statement lists per
// finding (the count is always exact), keeping statements bounded.
const maxStatementRecords = 10000

func dataScanInput(results []*data.Result) (predicates.DatasetScanInput, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return predicates.DatasetScanInput{}, err
	}
	th := map[string]any{}
	if len(results) > 0 {
		b, err := json.Marshal(results[0].Thresholds)
		if err != nil {
			return predicates.DatasetScanInput{}, err
		}
		if err := json.Unmarshal(b, &th); err != nil {
			return predicates.DatasetScanInput{}, err
		}
	}
	in := predicates.DatasetScanInput{Scanner: predicates.DatasetScanScanner{Name: "mlattest scan data", Version: version.Get().Version}, Thresholds: th}
	for _, r := range results {
		abs, err := filepath.Abs(r.Path)
		if err != nil {
			return in, err
		}
		p, err := filepath.Rel(cwd, abs)
		if err != nil || strings.HasPrefix(p, "..") {
			return in, fmt.Errorf("%s: the statement names datasets relative to the working directory; run the scan from a directory above it", r.Path)
		}
		d := predicates.DatasetScanDataset{
			Path: filepath.ToSlash(p), SHA256: r.SHA256, Format: string(r.Format), Records: r.Records,
			BadRecords: len(r.Bad), Verdict: r.Verdict, Flagged: capInts(r.Flagged), SourceMix: r.Stats.Sources,
			Incomplete: r.Incomplete,
		}
		for _, f := range r.Findings {
			d.Findings = append(d.Findings, predicates.DatasetScanFinding{
				Detector: f.Detector, Severity: f.Severity, Records: capInts(f.Records), Count: f.Count,
				Trigger: f.Trigger, Target: f.Target, Score: f.Score, Reason: f.Reason,
			})
		}
		in.Datasets = append(in.Datasets, d)
	}
	return in, nil
}

func capInts(x []int) []int {
	if x == nil {
		return []int{}
	}
	if len(x) > maxStatementRecords {
		return x[:maxStatementRecords]
	}
	return x
}

func writeDataScan(in predicates.DatasetScanInput, h handoff.Handoff, inRun bool, out string) error {
	if inRun {
		in.Step, in.RunID = h.Step, h.RunID
	}
	st, err := predicates.NewDatasetScanStatement(in)
	if err != nil {
		return err
	}
	return emitStatement(st, h, inRun, out, dataScanHandoffName)
}

func writeDataReport(path string, results []*data.Result, f data.Format, m data.Mapping) error {
	ex := map[string]map[int]data.Record{}
	for p, idx := range data.ReportIndices(results) {
		format := f
		for _, r := range results {
			if r.Path == p {
				format = r.Format
			}
		}
		recs, err := data.Excerpts(p, format, m, idx)
		if err != nil && recs == nil {
			return fmt.Errorf("report: %s: %w", p, err)
		}
		ex[p] = recs
	}
	var buf bytes.Buffer
	asHTML := strings.EqualFold(filepath.Ext(path), ".html") || strings.EqualFold(filepath.Ext(path), ".htm")
	if err := data.WriteReport(&buf, results, ex, asHTML); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// dataLine is the --json output contract: one object per dataset.
type dataLine struct {
	Path       string           `json:"path"`
	SHA256     string           `json:"sha256"`
	Format     data.Format      `json:"format"`
	Records    int              `json:"records"`
	BadRecords int              `json:"badRecords"`
	Verdict    string           `json:"verdict"`
	Flagged    []int            `json:"flagged"`
	Findings   []data.Finding   `json:"findings"`
	Bad        []data.BadRecord `json:"badRecordLocations,omitempty"`
	Stats      data.Stats       `json:"stats"`
	Incomplete string           `json:"incomplete,omitempty"`
}

func printDataScan(w io.Writer, results []*data.Result, jsonOut bool) error {
	if jsonOut {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range results {
			if err := enc.Encode(dataLine{r.Path, r.SHA256, r.Format, r.Records, len(r.Bad), r.Verdict, r.Flagged, r.Findings, r.Bad, r.Stats, r.Incomplete}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range results {
		if _, err := fmt.Fprintf(w, "%s  %s  %d records, %d malformed, %d flagged\n", r.Verdict, r.Path, r.Records, len(r.Bad), len(r.Flagged)); err != nil {
			return err
		}
		if r.Incomplete != "" {
			fmt.Fprintf(w, "  not read to the end: %s\n", r.Incomplete)
		}
		for _, f := range r.Findings {
			recs := f.Records
			more := ""
			if len(recs) > 10 {
				recs, more = recs[:10], fmt.Sprintf(" (+%d more)", f.Count-10)
			}
			if _, err := fmt.Fprintf(w, "  %s: %s: %s\n    records %v%s\n", f.Severity, f.Detector, strings.ReplaceAll(f.Reason, "\n", " "), recs, more); err != nil {
				return err
			}
		}
	}
	return nil
}
