package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Images (a model card's figures) are checked by their structure: every
// chunk, segment or block accounted for from the signature to the end
// marker, and nothing after it, so no second file hides behind one.

var (
	magicPNG  = []byte("\x89PNG\r\n\x1a\n")
	magicJPEG = []byte{0xff, 0xd8, 0xff}
	magicGIF7 = []byte("GIF87a")
	magicGIF9 = []byte("GIF89a")
)

var errTrailing = errors.New("data after the end of the image")

// imageFormat names the image format b starts with, or "".
func imageFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, magicPNG):
		return FormatPNG
	case bytes.HasPrefix(b, magicJPEG):
		return FormatJPEG
	case bytes.HasPrefix(b, magicGIF7), bytes.HasPrefix(b, magicGIF9):
		return FormatGIF
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return FormatWebP
	}
	return ""
}

// checkImage walks the structure of an image of format f.
func checkImage(f string, b []byte) error {
	switch f {
	case FormatPNG:
		return checkPNG(b)
	case FormatJPEG:
		return checkJPEG(b)
	case FormatGIF:
		return checkGIF(b)
	case FormatWebP:
		return checkWebP(b)
	}
	return fmt.Errorf("no structure check for %s", f)
}

// checkPNG: IHDR first, every chunk's CRC right, IEND last.
func checkPNG(b []byte) error {
	off := len(magicPNG)
	for first := true; ; first = false {
		if len(b)-off < 12 {
			return fmt.Errorf("offset %d: truncated chunk", off)
		}
		n := binary.BigEndian.Uint32(b[off:])
		typ := b[off+4 : off+8]
		if n > 1<<31-1 || uint64(len(b)-off-12) < uint64(n) {
			return fmt.Errorf("offset %d: chunk length %d runs past the end", off, n)
		}
		for _, c := range typ {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return fmt.Errorf("offset %d: chunk type %q is not letters", off, typ)
			}
		}
		end := off + 8 + int(n)
		if crc32.ChecksumIEEE(b[off+4:end]) != binary.BigEndian.Uint32(b[end:]) {
			return fmt.Errorf("offset %d: %s chunk CRC mismatch", off, typ)
		}
		if first && (string(typ) != "IHDR" || n != 13) {
			return fmt.Errorf("first chunk is %s, not IHDR", typ)
		}
		off = end + 4
		if string(typ) == "IEND" {
			if off != len(b) {
				return fmt.Errorf("offset %d: %w", off, errTrailing)
			}
			return nil
		}
	}
}

// checkJPEG: marker segments with their lengths, entropy-coded data after
// each start of scan up to the next marker, EOI last.
func checkJPEG(b []byte) error {
	off := 2 // SOI
	for {
		if off >= len(b) || b[off] != 0xff {
			return fmt.Errorf("offset %d: marker expected", off)
		}
		for off < len(b) && b[off] == 0xff { // fill bytes
			off++
		}
		if off >= len(b) {
			return fmt.Errorf("offset %d: truncated marker", off)
		}
		m := b[off]
		off++
		switch {
		case m == 0xd9: // EOI
			if off != len(b) {
				return fmt.Errorf("offset %d: %w", off, errTrailing)
			}
			return nil
		case m == 0x01 || m >= 0xd0 && m <= 0xd7:
			continue // standalone markers
		case m == 0x00 || m == 0xd8:
			return fmt.Errorf("offset %d: marker 0x%02x out of place", off-1, m)
		}
		if len(b)-off < 2 {
			return fmt.Errorf("offset %d: truncated segment length", off)
		}
		n := int(binary.BigEndian.Uint16(b[off:]))
		if n < 2 || len(b)-off < n {
			return fmt.Errorf("offset %d: segment length %d runs past the end", off, n)
		}
		off += n
		if m != 0xda { // not SOS
			continue
		}
		// Entropy-coded data: 0xff is followed by 0x00 (a stuffed byte) or
		// a restart marker; anything else is the next marker.
		for {
			i := bytes.IndexByte(b[off:], 0xff)
			if i < 0 || off+i+1 >= len(b) {
				return fmt.Errorf("offset %d: scan data without an end", off)
			}
			off += i
			if c := b[off+1]; c == 0x00 || c >= 0xd0 && c <= 0xd7 {
				off += 2
				continue
			}
			break
		}
	}
}

// checkGIF: header, screen descriptor and colour table, then extension and
// image blocks with their sub-blocks, the trailer last.
func checkGIF(b []byte) error {
	off := 13
	if len(b) < off {
		return errors.New("truncated screen descriptor")
	}
	if flags := b[10]; flags&0x80 != 0 {
		off += 3 << (flags&7 + 1)
	}
	subBlocks := func() error {
		for {
			if off >= len(b) {
				return fmt.Errorf("offset %d: truncated sub-block", off)
			}
			n := int(b[off])
			off++
			if n == 0 {
				return nil
			}
			if len(b)-off < n {
				return fmt.Errorf("offset %d: sub-block runs past the end", off)
			}
			off += n
		}
	}
	for {
		if off >= len(b) {
			return fmt.Errorf("offset %d: no trailer", off)
		}
		switch b[off] {
		case 0x3b:
			if off+1 != len(b) {
				return fmt.Errorf("offset %d: %w", off+1, errTrailing)
			}
			return nil
		case 0x21: // extension: label, sub-blocks
			off += 2
		case 0x2c: // image descriptor, local colour table, LZW code size
			if len(b)-off < 10 {
				return fmt.Errorf("offset %d: truncated image descriptor", off)
			}
			flags := b[off+9]
			off += 10
			if flags&0x80 != 0 {
				off += 3 << (flags&7 + 1)
			}
			off++ // LZW minimum code size
		default:
			return fmt.Errorf("offset %d: block 0x%02x is not a GIF block", off, b[off])
		}
		if off > len(b) {
			return fmt.Errorf("offset %d: truncated block", off)
		}
		if err := subBlocks(); err != nil {
			return err
		}
	}
}

// checkWebP: the RIFF size covers the file exactly, chunks (padded to even
// lengths) fill it, and the first is VP8, VP8L or VP8X.
func checkWebP(b []byte) error {
	if n := binary.LittleEndian.Uint32(b[4:]); uint64(n)+8 != uint64(len(b)) {
		if uint64(n)+8 < uint64(len(b)) {
			return fmt.Errorf("offset %d: %w", n+8, errTrailing)
		}
		return fmt.Errorf("RIFF size %d runs past the end", n)
	}
	off := 12
	for first := true; off < len(b); first = false {
		if len(b)-off < 8 {
			return fmt.Errorf("offset %d: truncated chunk", off)
		}
		fourcc := string(b[off : off+4])
		n := uint64(binary.LittleEndian.Uint32(b[off+4:]))
		if first && fourcc != "VP8 " && fourcc != "VP8L" && fourcc != "VP8X" {
			return fmt.Errorf("first chunk is %q, not VP8, VP8L or VP8X", fourcc)
		}
		n += n & 1
		if uint64(len(b)-off-8) < n {
			return fmt.Errorf("offset %d: chunk %q runs past the end", off, fourcc)
		}
		off += 8 + int(n)
	}
	if off == 12 {
		return errors.New("no chunks")
	}
	return nil
}
