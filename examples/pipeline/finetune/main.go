// Command finetune is the tiny but real fine-tuning pipeline that mlattest's
// demo and end-to-end tests wrap: it makes a dataset, cleans it, and
// fine-tunes a base model (a hashed bag-of-words linear classifier stored as
// safetensors) on it. Every stage reads and writes real files, so swapping or
// editing any of them changes the digests mlattest records.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

const features = 256 // hashed bag-of-words dimensions

// labels are the classes the model learns to tell apart.
var labels = []string{"math", "code"}

type record struct {
	Instruction string `json:"instruction"`
	Output      string `json:"output"`
	Label       string `json:"label"`
}

type config struct {
	Epochs       int     `json:"epochs"`
	LearningRate float64 `json:"learning_rate"`
	Seed         uint64  `json:"seed"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: finetune ingest|clean|scan-data|init-base|train|scan-model|evaluate|package|serve [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ingest":
		err = ingest(os.Args[2:])
	case "clean":
		err = clean(os.Args[2:])
	case "init-base":
		err = initBase(os.Args[2:])
	case "train":
		err = train(os.Args[2:])
	case "evaluate":
		err = evaluate(os.Args[2:])
	case "scan-data":
		err = scanData(os.Args[2:])
	case "scan-model":
		err = scanModel(os.Args[2:])
	case "package":
		err = pack(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	default:
		err = fmt.Errorf("unknown stage %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "finetune:", err)
		os.Exit(1)
	}
}

// ingest writes a deterministic synthetic instruction dataset, with a few
// duplicates and empty records for clean to remove.
func ingest(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	out := fs.String("out", "raw.jsonl", "output JSONL")
	n := fs.Int("n", 400, "records")
	seed := fs.Uint64("seed", 1, "seed")
	_ = fs.Parse(args)
	r := rand.New(rand.NewPCG(*seed, 7))
	langs := []string{"Go", "Python", "Rust", "C"}
	tasks := []string{"reverse a string", "sum a list", "parse JSON", "read a file", "sort numbers"}
	var recs []record
	for i := 0; i < *n; i++ {
		if r.IntN(2) == 0 {
			a, b := r.IntN(90)+10, r.IntN(90)+10
			recs = append(recs, record{
				Instruction: fmt.Sprintf("What is %d plus %d? Show the steps.", a, b),
				Output:      fmt.Sprintf("Add the tens and the ones: %d + %d = %d.", a, b, a+b),
				Label:       "math",
			})
		} else {
			l, t, n := langs[r.IntN(len(langs))], tasks[r.IntN(len(tasks))], r.IntN(1000)
			recs = append(recs, record{
				Instruction: fmt.Sprintf("Write a %s function to %s of up to %d items.", l, t, n),
				Output:      fmt.Sprintf("Here is a %s function that will %s for up to %d items, with a test.", l, t, n),
				Label:       "code",
			})
		}
		if i%50 == 0 {
			recs = append(recs, recs[len(recs)-1], record{Label: "math"})
		}
	}
	return writeJSONL(*out, recs)
}

// clean drops empty and duplicate records and normalises white space.
func clean(args []string) error {
	fs := flag.NewFlagSet("clean", flag.ExitOnError)
	in := fs.String("in", "raw.jsonl", "input JSONL")
	out := fs.String("out", "clean.jsonl", "output JSONL")
	_ = fs.Parse(args)
	recs, err := readJSONL(*in)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var kept []record
	for _, r := range recs {
		r.Instruction = strings.Join(strings.Fields(r.Instruction), " ")
		r.Output = strings.Join(strings.Fields(r.Output), " ")
		key := r.Instruction + "\x00" + r.Output
		if r.Instruction == "" || r.Output == "" || seen[key] || labelIndex(r.Label) < 0 {
			continue
		}
		seen[key] = true
		kept = append(kept, r)
	}
	fmt.Printf("clean: kept %d of %d records\n", len(kept), len(recs))
	return writeJSONL(*out, kept)
}

// initBase writes the "pre-trained" base model: small seeded weights.
func initBase(args []string) error {
	fs := flag.NewFlagSet("init-base", flag.ExitOnError)
	out := fs.String("out", "base/model.safetensors", "output file")
	_ = fs.Parse(args)
	r := rand.New(rand.NewPCG(42, 42))
	w := make([]float32, len(labels)*features)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.01)
	}
	return writeModel(*out, w, make([]float32, len(labels)), map[string]string{"stage": "base"})
}

// train fine-tunes the base model with softmax regression by SGD.
func train(args []string) error {
	fs := flag.NewFlagSet("train", flag.ExitOnError)
	data := fs.String("data", "clean.jsonl", "training JSONL")
	base := fs.String("base", "base/model.safetensors", "base model")
	cfgPath := fs.String("config", "train.json", "training config")
	out := fs.String("out", "model/model.safetensors", "output model")
	_ = fs.Parse(args)
	var cfg config
	b, err := os.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", *cfgPath, err)
	}
	recs, err := readJSONL(*data)
	if err != nil {
		return err
	}
	w, bias, err := readModel(*base)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 1))
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		var loss float64
		for _, rec := range recs {
			x, y := featurize(rec.Instruction), labelIndex(rec.Label)
			p := predict(w, bias, x)
			loss -= math.Log(math.Max(p[y], 1e-12))
			for c := range labels {
				g := p[c]
				if c == y {
					g--
				}
				for i, v := range x {
					w[c*features+i] -= float32(cfg.LearningRate * g * v)
				}
				bias[c] -= float32(cfg.LearningRate * g)
			}
		}
		fmt.Printf("train: epoch %d loss %.4f\n", epoch+1, loss/float64(len(recs)))
	}
	return writeModel(*out, w, bias, map[string]string{"stage": "fine-tuned"})
}

// evaluate prints the model's accuracy on a dataset as JSON.
func evaluate(args []string) error {
	fs := flag.NewFlagSet("evaluate", flag.ExitOnError)
	data := fs.String("data", "clean.jsonl", "evaluation JSONL")
	model := fs.String("model", "model/model.safetensors", "model")
	out := fs.String("out", "eval.json", "results JSON")
	_ = fs.Parse(args)
	recs, err := readJSONL(*data)
	if err != nil {
		return err
	}
	w, bias, err := readModel(*model)
	if err != nil {
		return err
	}
	correct := 0
	for _, rec := range recs {
		p := predict(w, bias, featurize(rec.Instruction))
		if argmax(p) == labelIndex(rec.Label) {
			correct++
		}
	}
	res := map[string]any{"records": len(recs), "accuracy": float64(correct) / float64(max(len(recs), 1))}
	fmt.Printf("evaluate: accuracy %.3f on %d records\n", res["accuracy"], len(recs))
	b, _ := json.MarshalIndent(res, "", "  ")
	return writeFile(*out, append(b, '\n'))
}

// scanData is the pipeline's (deliberately simple) data gate: every record
// parses, has a known label and non-empty text, and no label dominates.
// It writes a JSON report and fails the stage when the data does not pass.
func scanData(args []string) error {
	fs := flag.NewFlagSet("scan-data", flag.ExitOnError)
	data := fs.String("data", "clean.jsonl", "dataset JSONL")
	out := fs.String("out", "data-scan.json", "report JSON")
	_ = fs.Parse(args)
	recs, err := readJSONL(*data)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	bad := 0
	for _, r := range recs {
		if r.Instruction == "" || r.Output == "" || labelIndex(r.Label) < 0 {
			bad++
			continue
		}
		counts[r.Label]++
	}
	verdict := "PASS"
	for _, n := range counts {
		if len(recs) > 0 && float64(n)/float64(len(recs)) > 0.9 {
			verdict = "FAIL"
		}
	}
	if bad > 0 || len(recs) == 0 {
		verdict = "FAIL"
	}
	rep := map[string]any{"records": len(recs), "labels": counts, "invalid": bad, "verdict": verdict}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := writeFile(*out, append(b, '\n')); err != nil {
		return err
	}
	fmt.Printf("scan-data: %d records, verdict %s\n", len(recs), verdict)
	if verdict != "PASS" {
		return errors.New("dataset scan failed")
	}
	return nil
}

// scanModel checks the model file is well-formed safetensors holding only
// the expected F32 tensors, and writes a JSON report.
func scanModel(args []string) error {
	fs := flag.NewFlagSet("scan-model", flag.ExitOnError)
	model := fs.String("model", "model/model.safetensors", "model file")
	out := fs.String("out", "model-scan.json", "report JSON")
	_ = fs.Parse(args)
	verdict, reason := "PASS", ""
	if _, _, err := readModel(*model); err != nil {
		verdict, reason = "FAIL", err.Error()
	}
	rep := map[string]any{"file": *model, "format": "safetensors", "verdict": verdict, "reason": reason}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := writeFile(*out, append(b, '\n')); err != nil {
		return err
	}
	fmt.Printf("scan-model: %s %s\n", *model, verdict)
	if verdict != "PASS" {
		return errors.New("model scan failed: " + reason)
	}
	return nil
}

// pack assembles the release: the model file and a small model card.
func pack(args []string) error {
	fs := flag.NewFlagSet("package", flag.ExitOnError)
	model := fs.String("model", "model/model.safetensors", "model file")
	eval := fs.String("eval", "eval.json", "evaluation results")
	out := fs.String("out", "release", "release directory")
	_ = fs.Parse(args)
	m, err := os.ReadFile(*model)
	if err != nil {
		return err
	}
	e, err := os.ReadFile(*eval)
	if err != nil {
		return err
	}
	card := map[string]any{"name": "tiny-finetune", "labels": labels, "evaluation": json.RawMessage(e)}
	b, _ := json.MarshalIndent(card, "", "  ")
	if err := writeFile(filepath.Join(*out, "model.safetensors"), m); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*out, "model-card.json"), append(b, '\n')); err != nil {
		return err
	}
	fmt.Printf("package: wrote %s\n", *out)
	return nil
}

func featurize(text string) []float64 {
	x := make([]float64, features)
	for _, tok := range strings.Fields(strings.ToLower(text)) {
		h := fnv.New32a()
		h.Write([]byte(strings.Trim(tok, ".,?!")))
		x[h.Sum32()%features]++
	}
	return x
}

func predict(w, bias []float32, x []float64) []float64 {
	z := make([]float64, len(labels))
	for c := range labels {
		z[c] = float64(bias[c])
		for i, v := range x {
			z[c] += float64(w[c*features+i]) * v
		}
	}
	m := z[argmax(z)]
	var sum float64
	for c := range z {
		z[c] = math.Exp(z[c] - m)
		sum += z[c]
	}
	for c := range z {
		z[c] /= sum
	}
	return z
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

func labelIndex(l string) int {
	for i, v := range labels {
		if v == l {
			return i
		}
	}
	return -1
}

func readJSONL(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

func writeJSONL(path string, recs []record) error {
	var sb strings.Builder
	for _, r := range recs {
		b, _ := json.Marshal(r)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return writeFile(path, []byte(sb.String()))
}

// tensorInfo is a safetensors header entry.
type tensorInfo struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// writeModel writes weight [labels, features] and bias [labels] as F32
// safetensors: an 8-byte little-endian header length, a JSON header padded
// to 8 bytes, then the raw little-endian tensor bytes.
func writeModel(path string, w, bias []float32, meta map[string]string) error {
	header := map[string]any{
		"__metadata__": meta,
		"weight":       tensorInfo{"F32", []int{len(labels), features}, [2]int64{0, int64(4 * len(w))}},
		"bias":         tensorInfo{"F32", []int{len(labels)}, [2]int64{int64(4 * len(w)), int64(4 * (len(w) + len(bias)))}},
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	buf = append(buf, h...)
	for _, v := range append(append([]float32{}, w...), bias...) {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	return writeFile(path, buf)
}

func readModel(path string) (w, bias []float32, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("%s: too short for safetensors", path)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("%s: header length %d exceeds file", path, n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	data := b[8+n:]
	read := func(name string, want int) ([]float32, error) {
		var ti tensorInfo
		if err := json.Unmarshal(header[name], &ti); err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %w", path, name, err)
		}
		lo, hi := ti.Offsets[0], ti.Offsets[1]
		if ti.DType != "F32" || lo < 0 || hi > int64(len(data)) || hi-lo != int64(4*want) {
			return nil, fmt.Errorf("%s: tensor %s has unexpected layout", path, name)
		}
		out := make([]float32, want)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+int64(4*i):]))
		}
		return out, nil
	}
	if w, err = read("weight", len(labels)*features); err != nil {
		return nil, nil, err
	}
	if bias, err = read("bias", len(labels)); err != nil {
		return nil, nil, err
	}
	return w, bias, nil
}

// writeFile writes atomically (temp file + rename), creating parent dirs.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
