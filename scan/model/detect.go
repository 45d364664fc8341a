package model

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
)

// Magic numbers.
var (
	magicZip   = []byte("PK\x03\x04")
	magicZipE  = []byte("PK\x05\x06") // empty archive
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicXZ    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicNPY   = []byte("\x93NUMPY")
	magicGGUF  = []byte("GGUF")
	magicHDF5  = []byte("\x89HDF\r\n\x1a\n")
)

// sniffLen is how much of a stream detection looks at.
const sniffLen = 512

// streamFormat classifies a stream by its first bytes (formats that can be
// read front to back). zip is not here: it needs random access.
func streamFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, magicNPY):
		return FormatNPY
	case bytes.HasPrefix(head, magicGzip):
		return FormatGzip
	case bytes.HasPrefix(head, magicBzip2) && len(head) >= 4 && head[3] >= '1' && head[3] <= '9':
		return FormatBzip2
	case bytes.HasPrefix(head, magicXZ):
		return FormatXZ
	case bytes.HasPrefix(head, magicGGUF):
		return FormatGGUF
	case bytes.HasPrefix(head, magicHDF5):
		return FormatHDF5
	case looksSafetensors(head):
		// Before zlib: header lengths 0x0178 and 0x9c78 start like zlib.
		return FormatSafetensors
	case isZlib(head):
		return FormatZlib
	case isTar(head):
		return FormatTar
	case looksPickle(head):
		return FormatPickle
	case looksONNX(head):
		return FormatONNX
	}
	return FormatUnknown
}

func isZlib(h []byte) bool {
	if len(h) < 2 || h[0] != 0x78 {
		return false
	}
	return (uint16(h[0])<<8|uint16(h[1]))%31 == 0 && h[1]&0x20 == 0
}

// isTar checks the ustar magic and the header checksum.
func isTar(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	if !bytes.Equal(h[257:262], []byte("ustar")) {
		return false
	}
	_, err := tar.NewReader(bytes.NewReader(h[:512])).Next()
	return err == nil || err == io.ErrUnexpectedEOF || err == io.EOF
}

// looksSafetensors: an 8-byte little-endian length then a JSON object.
func looksSafetensors(h []byte) bool {
	if len(h) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(h)
	if n < 2 || n > 1<<40 {
		return false
	}
	return h[8] == '{'
}

// looksPickle: PROTO n (n <= 5), or a protocol 0/1 opening followed by
// plausible pickle bytes. Detection errs towards "pickle": a pickle
// verdict on non-pickle bytes is an error, never safe.
func looksPickle(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	if h[0] == 0x80 {
		return true // PROTO: a bad version is a malformed pickle, not another format
	}
	// Any opcode may start a pickle; demand that the sniffed head parses
	// (to STOP, or to its end when the stream is longer).
	return plausiblePickleHead(h)
}

// looksONNX: a ModelProto starts with ir_version (field 1, varint) and
// continues with known fields.
func looksONNX(h []byte) bool {
	if len(h) < 4 || h[0] != 0x08 || h[1] == 0 || h[1] > 20 {
		return false
	}
	switch h[2] {
	case 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x52, 0x72:
		return true
	}
	return false
}

// zipAt reports whether ra holds a zip archive that Go (and Python's
// zipfile, which also looks from the end) would open.
func zipAt(ra io.ReaderAt, size int64) (*zip.Reader, bool) {
	if size < 22 {
		return nil, false
	}
	// Cheap pre-check: the end-of-central-directory signature must be in
	// the last 64 KiB + 22 bytes.
	tail := int64(65557)
	if tail > size {
		tail = size
	}
	buf := make([]byte, tail)
	if _, err := ra.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return nil, false
	}
	if !bytes.Contains(buf, []byte("PK\x05\x06")) {
		return nil, false
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, false
	}
	return zr, true
}

func peek(br *bufio.Reader, n int) []byte {
	h, _ := br.Peek(n)
	return h
}
