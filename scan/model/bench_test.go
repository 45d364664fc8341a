package model

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSafetensors2GiB scans a 2 GiB safetensors file with --no-digest
// and reports the bytes it read and its time as a share of hashing the file.
func BenchmarkSafetensors2GiB(b *testing.B) {
	const dataLen = 2 << 30
	p := filepath.Join(b.TempDir(), "big.safetensors")
	h := fmt.Sprintf(`{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[%d],"data_offsets":[0,%d]}}`, dataLen/4, dataLen)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	binary.Write(f, binary.LittleEndian, uint64(len(h)))
	f.WriteString(h)
	// Sparse: the data section costs no disk, and reading it still costs
	// the hash its full length.
	if err := f.Truncate(int64(8 + len(h) + dataLen)); err != nil {
		b.Fatal(err)
	}
	f.Close()

	start := time.Now()
	hf, _ := os.Open(p)
	hs := sha256.New()
	io.Copy(hs, bufio.NewReaderSize(hf, 1<<20))
	hf.Close()
	hashTime := time.Since(start)

	s := New(WithDigest(false))
	var r Result
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r, err = s.ScanFile(context.Background(), p); err != nil || r.Verdict != Safe {
			b.Fatalf("%v %s", err, describe(r))
		}
	}
	b.StopTimer()
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(r.BytesRead), "bytes-read")
	b.ReportMetric(100*float64(per)/float64(hashTime), "%-of-hash-time")
	b.Logf("file %d bytes; scan read %d bytes in %v; hashing took %v", r.Size, r.BytesRead, per, hashTime)
}

// BenchmarkPyTorchZip1GiB scans a 1 GiB PyTorch zip (stored members, as
// torch.save writes them) with and without the digest and compares with
// cat over the same file.
func BenchmarkPyTorchZip1GiB(b *testing.B) {
	p := filepath.Join(b.TempDir(), "model.pt")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := zip.NewWriter(bufio.NewWriterSize(f, 1<<20))
	add := func(name string, data []byte, n int) {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i++ {
			fw.Write(data)
		}
	}
	add("archive/data.pkl", torchDataPkl(), 1)
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for k := 0; k < 16; k++ {
		add(fmt.Sprintf("archive/data/%d", k), chunk, 64)
	}
	add("archive/version", []byte("3\n"), 1)
	w.Close()
	f.Close()
	fi, _ := os.Stat(p)
	size := float64(fi.Size())

	cat := func() time.Duration {
		start := time.Now()
		if out, err := exec.Command("sh", "-c", "cat \"$0\" > /dev/null", p).CombinedOutput(); err != nil {
			b.Fatalf("cat: %v %s", err, out)
		}
		return time.Since(start)
	}
	cat() // warm the page cache
	for _, digest := range []bool{false, true} {
		b.Run(fmt.Sprintf("digest=%v", digest), func(b *testing.B) {
			s := New(WithDigest(digest))
			var catTime time.Duration
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				catTime += cat()
				b.StartTimer()
				r, err := s.ScanFile(context.Background(), p)
				if err != nil || r.Verdict != Safe || r.Format != FormatPyTorchZip {
					b.Fatalf("%v %s", err, describe(r))
				}
			}
			b.StopTimer()
			scanTP := size * float64(b.N) / b.Elapsed().Seconds()
			catTP := size * float64(b.N) / catTime.Seconds()
			b.ReportMetric(scanTP/(1<<20), "scan-MiB/s")
			b.ReportMetric(catTP/(1<<20), "cat-MiB/s")
			b.ReportMetric(100*scanTP/catTP, "%-of-cat")
		})
	}
}
