package predicates

import (
	"math"
	"strings"
	"time"

	"github.com/mlattest/mlattest/digest"
)

// Fixed inputs for golden files: nothing here depends on the clock or on map
// iteration order.

func hex64(c byte) string { return strings.Repeat(string(c), 64) }

func linkInput() LinkInput {
	return LinkInput{
		Step:    "clean",
		RunID:   "acme/finetune/1234-1",
		Command: []string{"python", "clean.py", "--in", "raw", "--out", "clean", "--min-len=8", "a && b <c>"},
		Materials: []digest.Artifact{
			{Name: "raw/b.jsonl", SHA256: hex64('b'), Size: 20},
			{Name: "raw/a.jsonl", SHA256: hex64('a'), Size: 10},
		},
		Products: []digest.Artifact{
			{Name: "clean/train.jsonl", SHA256: hex64('c'), Size: 30},
		},
		ExitCode:    0,
		Stdout:      "sha256:" + hex64('d'),
		Stderr:      "sha256:" + hex64('e'),
		Environment: map[string]string{"PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "0,1", "LANG": "C.UTF-8"},
	}
}

func trainingInput() TrainingInput {
	return TrainingInput{
		Step:       "train",
		RunID:      "acme/finetune/1234-1",
		EntryPoint: []string{"python", "train.py", "--config", "configs/lora.yaml"},
		Config:     &Resource{URI: "configs/lora.yaml", SHA256: hex64('1')},
		Hyperparameters: map[string]any{
			"learning_rate": 0.0002,
			"epochs":        float64(3),
			"lora":          map[string]any{"r": float64(16), "alpha": float64(32), "target": []any{"q_proj", "v_proj"}},
			"seed":          float64(42),
			"bf16":          true,
		},
		BaseModel: []Resource{
			{URI: "hf://acme/base-7b@0123456789abcdef0123456789abcdef01234567/config.json", SHA256: hex64('2')},
			{URI: "hf://acme/base-7b@0123456789abcdef0123456789abcdef01234567/model.safetensors", SHA256: hex64('3')},
		},
		Datasets: []Dataset{
			{Resource: Resource{URI: "data/clean/train.jsonl", SHA256: hex64('c')}, CollectedAt: "2026-03-01", SourceClass: "curated"},
			{Resource: Resource{URI: "hf://datasets/acme/synthetic@main/part-0.parquet", SHA256: hex64('4')}, CollectedAt: "2026-02-15T10:00:00Z", SourceClass: "synthetic"},
			{Resource: Resource{URI: "data/extra.jsonl", SHA256: hex64('5')}},
		},
		Script:        &GitSource{URI: "git+https://github.com/acme/finetune", Commit: strings.Repeat("9f", 20), Dirty: false},
		Image:         &Resource{URI: "oci://ghcr.io/acme/trainer", SHA256: hex64('6')},
		BuilderID:     "https://github.com/acme/finetune/.github/workflows/train.yml@refs/heads/main",
		InvocationURI: "https://github.com/acme/finetune/actions/runs/1234/attempts/1",
		StartedOn:     time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		FinishedOn:    time.Date(2026, 3, 2, 12, 30, 15, 500000000, time.FixedZone("CET", 3600)),
		Isolation: &Isolation{Network: "allow", Enforced: true, Mechanism: "userns+netns", Allow: []string{"10.0.0.7:443"},
			Connections: []Connection{{Proto: "tcp", To: "10.0.0.7:443", Count: 3, Failed: 1}},
			Refused:     []Connection{{Proto: "tcp", To: "127.0.0.1:8080", Count: 1}, {Proto: "udp", To: "10.255.255.53:53", Count: 2}}},
		ExitCode: 0,
		Subjects: []digest.Artifact{
			{Name: "out/model.safetensors", SHA256: hex64('7'), Size: 1 << 30},
			{Name: "out/adapter_config.json", SHA256: hex64('8'), Size: 512},
		},
	}
}

var zeroTime time.Time

func inf() float64 { return math.Inf(1) }
