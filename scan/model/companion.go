package model

import (
	"bufio"
	"bytes"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Companion formats: the files a model repository keeps beside its
// weights (configs, tokenizers, cards, images), and code, which is never
// safe.
const (
	FormatJSON          = "json"
	FormatText          = "text"
	FormatSentencepiece = "sentencepiece"
	FormatPNG           = "png"
	FormatJPEG          = "jpeg"
	FormatGIF           = "gif"
	FormatWebP          = "webp"
	FormatPython        = "python"
	FormatShell         = "shell"
	FormatNotebook      = "notebook"
	FormatNativeCode    = "native-code"
)

// Rules of companion files.
const (
	// RuleCode: the file is program source, bytecode or a native library.
	// Loaders run such files when asked to trust a repository's code; a
	// layout can admit reviewed code by its digest, never by default.
	RuleCode = "code"
	// RuleRemoteCode: a config names a module of the repository that
	// loaders import when remote code is trusted (auto_map,
	// custom_pipelines).
	RuleRemoteCode = "remote-code"
	// RuleCompanionMismatch: the extension names a companion format
	// (.json, .md, .png, ...) the content is not. Unlike a model format
	// mismatch it does not make the file a pickle for run's gate: a
	// product called notes.txt holding binary is not loaded as anything.
	RuleCompanionMismatch = "companion-mismatch"
)

// codeExts are extensions whose files are program code whatever their
// content looks like.
var codeExts = map[string]string{
	".py": FormatPython, ".pyw": FormatPython, ".pyi": FormatPython, ".pyx": FormatPython,
	".pyc": FormatPython, ".pyo": FormatPython, ".ipynb": FormatNotebook,
	".sh": FormatShell, ".bash": FormatShell, ".zsh": FormatShell, ".ps1": FormatShell,
	".bat": FormatShell, ".cmd": FormatShell,
	".so": FormatNativeCode, ".dylib": FormatNativeCode, ".dll": FormatNativeCode,
}

// companionExts are the extensions naming one companion format; the
// content must be that format (JSON is text too).
var companionExts = map[string][]string{
	".json":  {FormatJSON, FormatNotebook},
	".md":    {FormatText, FormatJSON},
	".txt":   {FormatText, FormatJSON},
	".jinja": {FormatText},
	".png":   {FormatPNG},
	".jpg":   {FormatJPEG},
	".jpeg":  {FormatJPEG},
	".gif":   {FormatGIF},
	".webp":  {FormatWebP},
}

var magicELF = []byte("\x7fELF")

// scanCompanion judges a top-level file that matched no model format.
// It returns "" when the content is no companion format either.
func (sc *scan) scanCompanion(br *bufio.Reader, size int64) string {
	ext := strings.ToLower(path.Ext(sc.baseName()))
	var format string
	head, _ := br.Peek(sniffLen)
	switch {
	case !maybeCompanion(head):
		// Binary data of no companion format: judged without reading it
		// all (a large unknown product costs its first bytes only).
	case size < 0 || size > sc.lim.MaxBuffered:
		// Too large to hold: only streamed text is recognised.
		if isTextStream(br) {
			format = FormatText
		}
	default:
		b, err := io.ReadAll(io.LimitReader(br, size))
		if err != nil {
			sc.add("", -1, Error, "read-error", "reading: %v", err)
			return FormatUnknown
		}
		format = sc.companionFormat(b, ext)
	}
	if cf, byExt := codeExts[ext]; byExt || isCodeFormat(format) {
		if byExt && format != FormatNotebook {
			format = cf
		}
		sc.add("", -1, Unknown, RuleCode, "%s code: loaders run it when they trust the repository's code, so it is never safe by default", format)
	}
	return format
}

// baseName is the top-level file's base name ("." for a bare stream).
func (sc *scan) baseName() string { return path.Base(strings.ReplaceAll(sc.name, `\`, "/")) }

// companionMismatch reports a file whose extension names a companion
// format and whose content, whatever it is, is another.
func (sc *scan) companionMismatch(format string) {
	name := sc.baseName()
	if want, ok := companionExts[strings.ToLower(path.Ext(name))]; ok && !slices.Contains(want, format) {
		sc.add("", -1, Unknown, RuleCompanionMismatch, "the name %s promises %s but the content is %s", name, strings.Join(want, " or "), format)
	}
}

// maybeCompanion: the first bytes of a file that may be a companion
// format (an image or native code by magic, a sentencepiece model, text).
func maybeCompanion(head []byte) bool {
	if imageFormat(head) != "" || bytes.HasPrefix(head, magicELF) || looksSentencepiece(head) || len(head) == 0 {
		return true
	}
	// Text: a rune may be cut at the end of the head.
	cut := len(head)
	for k := 1; k <= 3 && k <= len(head); k++ {
		if c := head[len(head)-k]; c >= 0xc0 {
			cut = len(head) - k
			break
		} else if c < 0x80 {
			break
		}
	}
	return isText(head[:cut])
}

// companionFormat recognises b and records the findings of its format.
func (sc *scan) companionFormat(b []byte, ext string) string {
	if f := imageFormat(b); f != "" {
		if err := checkImage(f, b); err != nil {
			sc.add("", -1, Invalid, "image-structure", "%s: %v", f, err)
		}
		return f
	}
	if bytes.HasPrefix(b, magicELF) {
		return FormatNativeCode
	}
	if looksSentencepiece(b) {
		if err := checkSentencepiece(b); err == nil {
			return FormatSentencepiece
		}
	}
	if isText(b) {
		if bytes.HasPrefix(b, []byte("#!")) {
			return shebangFormat(b)
		}
		if v, err := parseJSON(b); err == nil {
			switch v.(type) {
			case *jsonObject, []any:
			default:
				if ext != ".json" {
					return FormatText
				}
			}
			return sc.checkJSON(v)
		}
		if ext == ".jinja" {
			sc.checkTemplate("", "chat template file", string(b))
		}
		return FormatText
	}
	return ""
}

func isCodeFormat(f string) bool {
	switch f {
	case FormatPython, FormatShell, FormatNotebook, FormatNativeCode:
		return true
	}
	return false
}

// shebangFormat names the interpreter of a script.
func shebangFormat(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if bytes.Contains(line, []byte("python")) {
		return FormatPython
	}
	return FormatShell
}

// isText: UTF-8 without NUL or control characters other than the ones
// text files hold (tab, newline, carriage return, form feed, escape).
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && !textControl(c) || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}

func textControl(c byte) bool {
	return c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0x1b
}

// isTextStream is isText over a stream too large to hold.
func isTextStream(br *bufio.Reader) bool {
	var carry []byte
	buf := make([]byte, 1<<16)
	for {
		n, err := br.Read(buf)
		chunk := append(carry, buf[:n]...)
		// Keep an incomplete rune for the next chunk.
		cut := len(chunk)
		for k := 1; k <= 3 && k <= len(chunk); k++ {
			if c := chunk[len(chunk)-k]; c >= 0xc0 {
				if runeLen(c) > k {
					cut = len(chunk) - k
				}
				break
			} else if c < 0x80 {
				break
			}
		}
		if !isText(chunk[:cut]) {
			return false
		}
		carry = append(carry[:0], chunk[cut:]...)
		if err == io.EOF {
			return len(carry) == 0
		}
		if err != nil {
			return false
		}
	}
}

func runeLen(lead byte) int {
	switch {
	case lead >= 0xf0:
		return 4
	case lead >= 0xe0:
		return 3
	}
	return 2
}
