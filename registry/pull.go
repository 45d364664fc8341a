package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/internal/progress"
)

// ErrBlobMismatch: a blob's bytes are not those its digest and size name
// (the registry's storage was changed, or the transfer corrupted).
var ErrBlobMismatch = errors.New("the blob does not match its digest")

// ErrNotAdmitted: a file of the model is not one the verified attestations
// name with that digest, so it is never downloaded.
var ErrNotAdmitted = errors.New("not a file the verified attestations name")

// Download writes the model's files into dir, which must not exist or be an
// empty directory. admitted maps each file name to the hex SHA-256 that the
// verified attestations give it: every file must be there with its
// manifest digest, checked before anything is downloaded. Each blob is
// read by digest and hashed while it is written (go-containerregistry
// checks the SHA-256 at the end of the stream; the size is checked here),
// into a staging directory beside dir that is renamed to dir only when
// every file is complete and synced: dir appears whole or not at all.
func (c *Client) Download(ctx context.Context, m *Model, dir string, admitted map[string]string) error {
	return c.download(ctx, m, dir, admitted, nil)
}

// download is Download that also writes extra files (name -> bytes) into
// the staging directory, so they appear with the model.
func (c *Client) download(ctx context.Context, m *Model, dir string, admitted map[string]string, extra map[string][]byte) error {
	for _, f := range m.Files {
		if want, ok := admitted[f.Name]; !ok || want != f.SHA256() {
			return fmt.Errorf("%s: file %s (%s): %w", String(m.Ref), f.Name, f.Digest, ErrNotAdmitted)
		}
	}
	if err := checkTarget(dir); err != nil {
		return err
	}
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	stage, err := os.MkdirTemp(parent, "."+base+".pull-*")
	if err != nil {
		return fmt.Errorf("pull into %s: %w", dir, err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(stage)
		}
	}()
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	puller, err := remote.NewPuller(c.options(ctx)...)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	bar := progress.New(c.cfg.progress, total, "pulling")
	defer bar.Finish()

	// Largest first, so that the longest transfer starts at once.
	files := append([]File(nil), m.Files...)
	sort.SliceStable(files, func(i, j int) bool { return files[i].Size > files[j].Size })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.jobs)
	for _, f := range files {
		g.Go(func() error {
			return c.fetchFile(gctx, puller, m, f, filepath.Join(stage, filepath.FromSlash(f.Name)), bar)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for n, data := range extra {
		if err := fsutil.WriteFileAtomic(filepath.Join(stage, n), data, 0o644); err != nil {
			return fmt.Errorf("pull into %s: %w", dir, err)
		}
	}
	if err := syncDir(stage); err != nil {
		return err
	}
	if err := os.Rename(stage, dir); err != nil {
		return fmt.Errorf("pull into %s: %w", dir, err)
	}
	done = true
	return syncDir(parent)
}

// checkTarget refuses a dir that exists and is not an empty directory.
func checkTarget(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("pull into %s: exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("pull into %s: %w: the directory is not empty", dir, fs.ErrExist)
	}
	return nil
}

func (c *Client) fetchFile(ctx context.Context, puller *remote.Puller, m *Model, f File, path string, bar *progress.Bar) error {
	fail := func(err error) error { return fmt.Errorf("%s: file %s (%s): %w", String(m.Ref), f.Name, f.Digest, err) }
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fail(err)
	}
	l, err := puller.Layer(ctx, m.Ref.Context().Digest(f.Digest))
	if err != nil {
		return fail(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fail(err)
	}
	defer out.Close()
	// One byte more than the manifest's size shows a longer blob.
	n, err := io.CopyBuffer(out, &countingReader{r: io.LimitReader(rc, f.Size+1), bar: bar}, make([]byte, 1<<20))
	if err != nil {
		return fail(mismatch(err))
	}
	if n != f.Size {
		return fail(fmt.Errorf("%w: the registry sent %d bytes, the manifest says %d", ErrBlobMismatch, n, f.Size))
	}
	// The digest check happens on the read that sees the end of the stream.
	if _, err := rc.Read(make([]byte, 1)); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("%w: the registry sent more bytes than the manifest says", ErrBlobMismatch)
		}
		return fail(mismatch(err))
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	return out.Close()
}

type countingReader struct {
	r   io.Reader
	bar *progress.Bar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bar.Add(int64(n))
	return n, err
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// mismatch marks go-containerregistry's digest and size check failures
// (its internal verify.Error, which cannot be named) as ErrBlobMismatch.
func mismatch(err error) error {
	if strings.HasPrefix(err.Error(), "error verifying ") {
		return fmt.Errorf("%w: %v", ErrBlobMismatch, err)
	}
	return err
}
