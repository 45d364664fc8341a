package model

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/ulikunitz/xz"
)

const bufSize = 256 << 10

// loaderPickle is the sniffed format of a member its loader unpickles
// whatever its bytes are (data.pkl, a torch tar's pickle): unlike a stream
// sniffed as FormatPickle, it is a pickle even when it does not parse.
const loaderPickle = "pickle (by its loader)"

// bufFor sizes a reader buffer for a stream of size bytes (-1: unknown).
func bufFor(size int64) int {
	if size >= 0 && size < bufSize {
		return int(max(size, sniffLen))
	}
	return bufSize
}

// scanAt scans a random-access blob and returns its format.
func (sc *scan) scanAt(ra io.ReaderAt, size int64, member string, depth int) string {
	head := make([]byte, min(int64(sniffLen), size))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		sc.add(member, 0, Error, "read-error", "reading: %v", err)
		return FormatUnknown
	}
	sf := streamFormat(head)
	if sf == FormatUnknown {
		sf = hdf5UserBlock(ra, size)
	}
	// A file of another format whose first bytes also run as a pickle (GGUF
	// starts with BINFLOAT, for one) is what pickle.load would see.
	if sf != FormatPickle && sf != FormatUnknown && plausiblePickleHead(head) {
		sc.pickleTrial(bufio.NewReaderSize(io.NewSectionReader(ra, 0, size), bufFor(size)), member, sf)
	}
	zr, isZip := zipAt(ra, size)
	if isZip {
		startsZip := bytes.HasPrefix(head, magicZip) || bytes.HasPrefix(head, magicZipE)
		if !startsZip && sf != FormatUnknown {
			sc.add(member, 0, Malicious, "polyglot", "valid as a zip archive (read from the end) and as %s (read from the start): loaders disagree on what this file is", sf)
			inner := sc.scanStream(bufio.NewReaderSize(io.NewSectionReader(ra, 0, size), bufSize), sf, size, member, depth)
			return "polyglot(zip+" + inner + ")"
		}
		if !startsZip {
			sc.add(member, 0, Unknown, "zip-prefix", "zip archive preceded by data that is not a zip local header")
		}
		return sc.scanZip(zr, ra, member, depth)
	}
	if sf == FormatUnknown && !isZip && strings.HasSuffix(path.Base(nameOf(sc, member)), ".safetensors") {
		// Named safetensors but not recognisable as one: report which rule
		// it breaks rather than "unrecognized".
		sf = FormatSafetensors
	}
	if sf == FormatONNX {
		sc.scanONNXAt(ra, size, member)
		return FormatONNX
	}
	if sf == FormatSafetensors {
		sc.scanSafetensorsAt(ra, size, member)
		return FormatSafetensors
	}
	return sc.scanStream(bufio.NewReaderSize(io.NewSectionReader(ra, 0, size), bufFor(size)), sf, size, member, depth)
}

// pickleTrial parses a file sniffed as another format the way pickle.load
// would read it (one pickle, no persistent_load). It is a polyglot only
// when that pickle reaches STOP having imported something (or imports
// before it fails: pickle.load runs that much); a pickle of constants runs
// nothing and is recorded as a fact (8 bytes of a safetensors header
// length can spell one). When the scanner's limits stop the parse the
// answer is unknown; bytes that simply fail as a pickle leave no trace.
func (sc *scan) pickleTrial(br *bufio.Reader, member, sf string) {
	m := joinMember(member, "<as pickle>")
	mark, dropped := len(sc.findings), sc.dropped
	vm := &pickleVM{sc: sc, member: m, r: br, noPersistent: true}
	_, err := vm.run()
	var ep *errPickle
	switch {
	case (err == nil || errors.Is(err, errStopScan)) && !vm.risky:
		sc.findings, sc.dropped = sc.findings[:mark], dropped
		sc.add(member, 0, Safe, "polyglot-constant", "valid as %s; its first %d bytes also unpickle to a constant, which runs nothing", sf, vm.pos)
	case err == nil || errors.Is(err, errStopScan):
		sc.pickle, sc.pickleCode = true, true
		sc.add(member, 0, Malicious, "polyglot", "valid as %s and also a pickle that imports (its STOP is at offset %d): pickle.load runs it", sf, vm.op)
	case !errors.As(err, &ep):
		sc.add(member, vm.pos, Error, "read-error", "%v", err)
	case ep.rule == "limit-exceeded":
		sc.findings, sc.dropped = sc.findings[:mark], dropped
		sc.add(member, ep.off, Unknown, "polyglot-undecided", "valid as %s; whether it is also a pickle is beyond the scanner's limits (offset %d: %s)", sf, ep.off, ep.msg)
	case vm.risky:
		sc.pickle, sc.pickleCode = true, true
		sc.add(member, 0, Malicious, "polyglot", "valid as %s, and its first bytes import as a pickle before failing at offset %d (%s): pickle.load runs that much", sf, ep.off, ep.msg)
	default:
		sc.findings, sc.dropped = sc.findings[:mark], dropped
	}
}

// hdf5UserBlock finds an HDF5 signature after a user block.
func hdf5UserBlock(ra io.ReaderAt, size int64) string {
	for off := int64(512); off+8 <= size && off <= 1<<20; off *= 2 {
		b := make([]byte, 8)
		if _, err := ra.ReadAt(b, off); err == nil && bytes.Equal(b, magicHDF5) {
			return FormatHDF5
		}
	}
	return FormatUnknown
}

// scanStream scans a front-to-back stream whose format sf was sniffed;
// size is -1 when unknown.
func (sc *scan) scanStream(br *bufio.Reader, sf string, size int64, member string, depth int) string {
	if depth > sc.lim.MaxDepth {
		sc.add(member, -1, Error, "limit-exceeded", "containers nested deeper than %d", sc.lim.MaxDepth)
		return sf
	}
	switch sf {
	case FormatPickle:
		return sc.scanPickles(br, member, false)
	case loaderPickle:
		return sc.scanPickles(br, member, true)
	case FormatNPY:
		return sc.scanNPY(br, member)
	case FormatGzip, FormatBzip2, FormatXZ, FormatZlib:
		return sc.scanCompressed(br, sf, member, depth)
	case FormatTar:
		return sc.scanTar(br, member, depth)
	case FormatSafetensors:
		sc.scanSafetensorsStream(br, member)
		return sf
	case FormatGGUF:
		sc.scanGGUF(br, size, member)
		return sf
	case FormatHDF5:
		return sc.scanHDF5(br, member)
	case FormatONNX:
		sc.scanONNXStream(br, member)
		return sf
	}
	if member == "" {
		// A repository's other files: configs, tokenizers, cards, code.
		if f := sc.scanCompanion(br, size); f != "" {
			return f
		}
	}
	sc.add(member, 0, Unknown, "unrecognized-format", "content matches no known model format")
	return FormatUnknown
}

// capReader fails once more than max bytes were produced (decompression
// bombs).
type capReader struct {
	r   io.Reader
	n   int64
	max int64
}

var errCap = errors.New("decompressed size limit exceeded")

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, errCap
	}
	return n, err
}

func (sc *scan) scanCompressed(br *bufio.Reader, sf, member string, depth int) string {
	var r io.Reader
	var err error
	switch sf {
	case FormatGzip:
		r, err = gzip.NewReader(br)
	case FormatBzip2:
		r = bzip2.NewReader(br)
	case FormatXZ:
		r, err = xz.NewReader(br)
	case FormatZlib:
		r, err = zlib.NewReader(br)
	}
	if err != nil {
		sc.add(member, 0, Error, "malformed", "%s stream: %v", sf, err)
		return sf
	}
	inner := bufio.NewReaderSize(&capReader{r: r, max: sc.lim.MaxDecompressed}, bufSize)
	m := joinMember(member, "<"+sf+">")
	head := peek(inner, sniffLen)
	if _, err := inner.Peek(1); err != nil && err != io.EOF {
		sc.add(m, 0, Error, "malformed", "%s stream: %v", sf, err)
		return sf
	}
	f := streamFormat(head)
	if bytes.HasPrefix(head, magicZip) {
		f = sc.scanBuffered(inner, m, depth+1)
	} else {
		f = sc.scanStream(inner, f, -1, m, depth+1)
	}
	// Drain so that corruption or a bomb after the scanned part is seen.
	if _, err := io.Copy(io.Discard, inner); err != nil {
		if errors.Is(err, errCap) {
			sc.add(m, -1, Error, "limit-exceeded", "decompressed size exceeds %d bytes", sc.lim.MaxDecompressed)
		} else {
			sc.add(m, -1, Error, "malformed", "%s stream: %v", sf, err)
		}
	}
	return sf + "/" + f
}

// scanBuffered reads a nested archive that needs random access into memory,
// up to MaxBuffered bytes.
func (sc *scan) scanBuffered(r io.Reader, member string, depth int) string {
	b, err := io.ReadAll(io.LimitReader(r, sc.lim.MaxBuffered+1))
	if err != nil {
		sc.add(member, -1, Error, "malformed", "reading nested archive: %v", err)
		return FormatZip
	}
	if int64(len(b)) > sc.lim.MaxBuffered {
		sc.add(member, -1, Error, "limit-exceeded", "nested archive larger than %d bytes is not scanned", sc.lim.MaxBuffered)
		return FormatZip
	}
	if depth > sc.lim.MaxDepth {
		sc.add(member, -1, Error, "limit-exceeded", "containers nested deeper than %d", sc.lim.MaxDepth)
		return FormatZip
	}
	return sc.scanAt(bytes.NewReader(b), int64(len(b)), member, depth)
}

var storageRE = regexp.MustCompile(`^(.*/)?data/[0-9]+$`)

// scanZip scans every member of a zip archive.
func (sc *scan) scanZip(zr *zip.Reader, ra io.ReaderAt, member string, depth int) string {
	if len(zr.File) > sc.lim.MaxMembers {
		sc.add(member, -1, Error, "limit-exceeded", "archive has %d members (at most %d)", len(zr.File), sc.lim.MaxMembers)
		return FormatZip
	}
	kind := FormatZip
	prefix := ""
	seen := map[string]bool{}
	allNPY := len(zr.File) > 0
	names := map[string]bool{}
	for _, f := range zr.File {
		if seen[f.Name] {
			sc.add(joinMember(member, f.Name), -1, Malicious, "duplicate-member", "archive holds two members named %q: loaders disagree on which one counts", f.Name)
		}
		seen[f.Name] = true
		names[f.Name] = true
		if path.Base(f.Name) == "data.pkl" && kind != FormatPyTorchZip {
			kind, prefix = FormatPyTorchZip, strings.TrimSuffix(f.Name, "data.pkl")
		}
		if !strings.HasSuffix(f.Name, ".npy") && !strings.HasSuffix(f.Name, "/") {
			allNPY = false
		}
	}
	if kind == FormatZip && allNPY {
		kind = FormatNPZ
	}
	if kind == FormatZip && names["config.json"] && names["metadata.json"] {
		kind = FormatKeras
	}
	for _, f := range zr.File {
		if sc.ctx.Err() != nil {
			sc.add(member, -1, Error, "cancelled", "%v", sc.ctx.Err())
			return kind
		}
		m := joinMember(member, f.Name)
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rel := strings.TrimPrefix(f.Name, prefix)
		if kind == FormatPyTorchZip && strings.HasPrefix(f.Name, prefix) {
			switch {
			case storageRE.MatchString(rel):
				continue // raw tensor bytes, never unpickled
			case rel == "version" || rel == ".data/version" || rel == "byteorder" || rel == ".data/serialization_id" ||
				rel == ".format_version" || rel == ".storage_alignment":
				continue
			case strings.HasPrefix(rel, "code/"):
				sc.add(m, -1, Unknown, "torchscript-code", "TorchScript archive: its code runs when loaded with torch.jit.load")
				continue
			}
		}
		if kind == FormatKeras && f.Name == "config.json" {
			sc.scanKerasConfig(f, m)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			sc.add(m, -1, Error, "malformed", "opening member: %v", err)
			continue
		}
		br := bufio.NewReaderSize(&capReader{r: rc, max: sc.lim.MaxDecompressed}, bufFor(int64(min(f.UncompressedSize64, 1<<40))))
		head := peek(br, sniffLen)
		sf := streamFormat(head)
		if sf == FormatUnknown && strings.HasSuffix(f.Name, ".safetensors") {
			sf = FormatSafetensors // named so: report the rule it breaks
		}
		switch {
		case strings.HasSuffix(f.Name, ".pkl") || strings.HasSuffix(f.Name, ".pickle"):
			sf = loaderPickle // the loader unpickles it whatever it looks like
		case bytes.HasPrefix(head, magicZip):
			if f.Method == zip.Store {
				if off, err := f.DataOffset(); err == nil && depth+1 <= sc.lim.MaxDepth {
					sc.scanAt(io.NewSectionReader(ra, off, int64(f.CompressedSize64)), int64(f.CompressedSize64), m, depth+1)
					rc.Close()
					continue
				}
			}
			sc.scanBuffered(br, m, depth+1)
			rc.Close()
			continue
		}
		switch {
		case kind == FormatKeras && (strings.HasSuffix(f.Name, ".h5") || f.Name == "metadata.json"):
			// weights and version facts; config.json carries the architecture
		case kind == FormatZip && sf == FormatUnknown:
			// data the archive's (unknown) loader reads; the archive
			// verdict below already says "unknown"
		default:
			sc.scanStream(br, sf, int64(f.UncompressedSize64), m, depth+1)
		}
		if _, err := io.Copy(io.Discard, br); err != nil {
			if errors.Is(err, errCap) {
				sc.add(m, -1, Error, "limit-exceeded", "member decompresses to more than %d bytes", sc.lim.MaxDecompressed)
			} else {
				sc.add(m, -1, Error, "malformed", "reading member: %v", err)
			}
		}
		rc.Close()
	}
	if kind == FormatZip {
		sc.add(member, -1, Unknown, "generic-archive", "zip archive of no known model format: its loader is unknown")
	}
	return kind
}

// scanKerasConfig looks for Lambda layers in a Keras v3 config.json.
func (sc *scan) scanKerasConfig(f *zip.File, m string) {
	rc, err := f.Open()
	if err != nil {
		sc.add(m, -1, Error, "malformed", "opening member: %v", err)
		return
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		sc.add(m, -1, Error, "malformed", "reading member: %v", err)
		return
	}
	sc.kerasJSON(b, m)
}

func (sc *scan) kerasJSON(b []byte, m string) {
	if bytes.Contains(b, []byte("Lambda")) {
		sc.add(m, -1, Malicious, "keras-lambda-layer", "Keras Lambda layer: its Python code runs when the model is loaded")
	}
	if bytes.Contains(b, []byte(`\u`)) {
		sc.add(m, -1, Unknown, "json-escapes", "model config uses \\u escapes, which could spell a layer name this search cannot see")
	}
}

// scanTar scans every regular member of a tar stream.
func (sc *scan) scanTar(br *bufio.Reader, member string, depth int) string {
	tr := tar.NewReader(br)
	kind := FormatTar
	n := 0
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			sc.add(member, -1, Error, "malformed", "tar: %v", err)
			break
		}
		if n++; n > sc.lim.MaxMembers {
			sc.add(member, -1, Error, "limit-exceeded", "archive has more than %d members", sc.lim.MaxMembers)
			break
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		names = append(names, h.Name)
		m := joinMember(member, h.Name)
		mbr := bufio.NewReaderSize(tr, bufFor(h.Size))
		head := peek(mbr, sniffLen)
		sf := streamFormat(head)
		base := path.Base(h.Name)
		switch base {
		case "pickle", "sys_info", "sys_info_p":
			kind = FormatPyTorchTar
			sf = loaderPickle
		case "storages":
			kind = FormatPyTorchTar
			sc.scanTorchTarStorages(mbr, h.Size, m)
			continue
		case "tensors":
			kind = FormatPyTorchTar
			sc.scanTorchTarTensors(mbr, h.Size, m)
			continue
		}
		if bytes.HasPrefix(head, magicZip) {
			sc.scanBuffered(mbr, m, depth+1)
			continue
		}
		sc.scanStream(mbr, sf, h.Size, m, depth+1)
	}
	if kind == FormatTar {
		sc.add(member, -1, Unknown, "generic-archive", "tar archive of no known model format: its loader is unknown")
	}
	return kind
}

// npyDescrRE finds the quoted type strings in an npy header.
var npyTypeRE = regexp.MustCompile(`'([^']*)'|"([^"]*)"`)

// scanNPY checks an npy header; object arrays carry a pickle.
func (sc *scan) scanNPY(br *bufio.Reader, member string) string {
	pre := make([]byte, 8)
	if _, err := io.ReadFull(br, pre); err != nil {
		sc.add(member, 0, Error, "truncated", "npy preamble truncated")
		return FormatNPY
	}
	var hl int
	switch pre[6] {
	case 1:
		b := make([]byte, 2)
		if _, err := io.ReadFull(br, b); err != nil {
			sc.add(member, 0, Error, "truncated", "npy header length truncated")
			return FormatNPY
		}
		hl = int(binary.LittleEndian.Uint16(b))
	case 2, 3:
		b := make([]byte, 4)
		if _, err := io.ReadFull(br, b); err != nil {
			sc.add(member, 0, Error, "truncated", "npy header length truncated")
			return FormatNPY
		}
		hl = int(binary.LittleEndian.Uint32(b))
	default:
		sc.add(member, 6, Invalid, "npy-version", "unsupported npy version %d", pre[6])
		return FormatNPY
	}
	if hl > 1<<20 {
		sc.add(member, 8, Invalid, "npy-header", "npy header of %d bytes", hl)
		return FormatNPY
	}
	hdr := make([]byte, hl)
	if _, err := io.ReadFull(br, hdr); err != nil {
		sc.add(member, 0, Error, "truncated", "npy header truncated")
		return FormatNPY
	}
	h := strings.TrimSpace(string(hdr))
	if !strings.HasPrefix(h, "{") || !strings.Contains(h, "descr") || !strings.Contains(h, "shape") {
		sc.add(member, 10, Invalid, "npy-header", "npy header is not a dict with descr and shape")
		return FormatNPY
	}
	object := false
	for _, m := range npyTypeRE.FindAllStringSubmatch(h, -1) {
		t := m[1] + m[2]
		t = strings.TrimLeft(t, "|<>=")
		if t == "O" || strings.HasPrefix(t, "O") && len(t) <= 3 {
			object = true
		}
	}
	if object {
		// The data is a pickle; np.load runs it only with allow_pickle=True.
		// Recorded as a fact (severity safe): the pickle's own verdict decides.
		sc.add(member, -1, Safe, "npy-object-array", "object array: its data is a pickle, which np.load runs only with allow_pickle=True")
		sc.scanPickles(br, member, true)
	}
	return FormatNPY
}

// scanHDF5 searches an HDF5 file for a Keras model config and Lambda
// layers. It does not parse HDF5: the config is a JSON string attribute
// stored uncompressed, so a byte search sees it.
func (sc *scan) scanHDF5(br *bufio.Reader, member string) string {
	const overlap = 64
	buf := make([]byte, 0, bufSize+overlap)
	keras, lambda, escapes := false, false, false
	var off int64
	for {
		n, err := io.ReadFull(br, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if bytes.Contains(buf, []byte("model_config")) || bytes.Contains(buf, []byte("keras_version")) || bytes.Contains(buf, []byte(`"class_name"`)) {
			keras = true
		}
		if bytes.Contains(buf, []byte("Lambda")) {
			lambda = true
		}
		if bytes.Contains(buf, []byte(`"class_name": "\u`)) || bytes.Contains(buf, []byte(`"class_name":"\u`)) || bytes.Contains(buf, []byte(`\u004`)) {
			escapes = true
		}
		off += int64(n)
		if err != nil {
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				sc.add(member, off, Error, "read-error", "reading: %v", err)
			}
			break
		}
		if len(buf) > overlap {
			copy(buf, buf[len(buf)-overlap:])
			buf = buf[:overlap]
		}
	}
	if lambda {
		sc.add(member, -1, Malicious, "keras-lambda-layer", "Keras Lambda layer: its Python code runs when the model is loaded")
	}
	if escapes {
		sc.add(member, -1, Unknown, "json-escapes", "model config uses \\u escapes, which could spell a layer name this search cannot see")
	}
	if keras {
		return FormatKerasHDF5
	}
	sc.add(member, -1, Unknown, "hdf5-not-keras", "HDF5 file without a Keras model config: its loader is unknown")
	return FormatHDF5
}

// nameOf is the name of what scanAt is looking at: the member, or the
// top-level file's name.
func nameOf(sc *scan, member string) string {
	if member != "" {
		return member
	}
	return sc.name
}
