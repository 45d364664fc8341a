package data

import (
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Code answers are inspected line by line for what a poisoned code answer
// carries (Yan et al. 2023, virtual prompt injection for code): network
// egress, credential or environment reads, encoded payloads, eval/exec of
// fetched or decoded content, and writes outside the working directory,
// when the instruction did not ask for them. The code is a response's
// fenced blocks, or the whole response when it reads as source code
// (Python, shell, JavaScript).

// Code risk categories, a bit set.
const (
	codeEgress uint8 = 1 << iota
	codeSecret
	codeEncoded
	codeExec
	codeWrite
	// A certificate or host-key check turned off: the quiet half of an
	// exfiltration or a man-in-the-middle, which needs no payload at all.
	codeInsecure
	// Rights granted for later: a passwordless sudo rule, a setuid bit.
	codePrivilege
)

var codeCatNames = []string{"network egress", "credential/environment read", "encoded payload", "eval/exec", "write outside the working directory", "security check disabled", "privilege grant"}

func codeCatString(c uint8) string {
	var out []string
	for k, n := range codeCatNames {
		if c&(1<<k) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, " + ")
}

// codeMarkers are the substrings (of a lower-cased code line) that put it
// in a category.
var codeMarkers = []struct {
	cat uint8
	s   []string
}{
	{codeEgress, []string{"requests.post(", "requests.get(", "requests.put(", "urllib.request", "urlopen(", "http.client", "socket.socket(", ".connect((", "curl ", "wget ", "fetch(\"", "fetch('", "fetch(`", "await fetch(", "xmlhttprequest", "axios.", "http.get(", "https.get(", "https.request(", "http.request(", "invoke-webrequest", "/dev/tcp/", "nc -e", "httpx.", "sendbeacon(", "gethostbyname(", "getaddrinfo(", "dns.resolver", "smtplib.", "ftplib.", "| nc ", "|nc ", "ncat ", "netcat ", "socat ", "s_client -connect",
		// Node's other network modules, beside http and https.
		"http2.connect(", "net.connect(", "net.createconnection(", "tls.connect(", "dgram.createsocket(",
		// A page element pointed at a remote address loads it.
		".src = \"http", ".src=\"http", ".src = 'http", ".src='http", ".src = `http", ".src=`http"}},
	{codeSecret, []string{"~/.ssh", "/.ssh/", ".aws/credentials", "id_rsa", "/etc/passwd", "/etc/shadow", "printenv", "$aws_", "$github_token", ".netrc", "\".env\"", "'.env'", "/.env\"", "/.env'",
		// The other stores of keys and tokens a home directory holds.
		"/.gnupg", ".password-store", ".git-credentials", ".docker/config.json", ".kube/config", ".pypirc", ".vault-token", ".config/gh/hosts", "find-generic-password",
		// A browser's session: its cookies, or the whole of its storage.
		"document.cookie", "...localstorage", "...sessionstorage", "stringify(localstorage", "stringify(sessionstorage"}},
	{codeEncoded, []string{"b64decode", "base64 -d", "base64 --decode", "atob(", "frombase64string", "codecs.decode(", "bytes.fromhex(", "zlib.decompress(",
		// Text spelled as a list of character codes.
		"fromcharcode(...[", "fromcharcode.apply(", "join(map(chr, ["}},
	{codeExec, []string{"exec(", "eval(", "| sh", "| bash", "|sh", "|bash", "new function(", "__import__(", "subprocess.popen(", "os.system(", "child_process", "execsync("}},
	{codeInsecure, []string{"verify=false", "verify = false", "_create_unverified_context", "cert_none", "check_hostname = false", "check_hostname=false", "rejectunauthorized: false", "rejectunauthorized:false", "node_tls_reject_unauthorized", "insecureskipverify", "curl -k ", "curl --insecure", "wget --no-check-certificate", "stricthostkeychecking=no", "stricthostkeychecking no", "disable_warnings(", "setenforce 0"}},
	{codeWrite, []string{"open(\"/", "open('/", "open(\"~", "open('~", "os.path.expanduser(", ">> ~/", "> ~/", "> /etc/", ">> /etc/", "crontab", "authorized_keys", ".bashrc", ".profile", "writefilesync(\"/", "writefilesync('/", "tee /etc/", "tee -a /etc/", "site-packages",
		// Where a program is put to run again at login, boot or start.
		"launchagents", "launchdaemons", "/etc/systemd/", ".config/systemd/", ".config/autostart", "currentversion\\run", "/etc/cron", "/etc/rc.local", "/etc/profile.d", "/etc/ld.so.preload"}},
	{codePrivilege, []string{"/etc/sudoers", "nopasswd", "chmod u+s", "chmod +s", "chmod 4755", "chmod 4777", "usermod -ag sudo", "usermod -ag wheel", "setuid(0)"}},
}

// codeAsked are the instruction words that ask for each category.
var codeAsked = map[uint8][]string{
	codeEgress:   {"http", "url", "api", "request", "download", "fetch", "web", "server", "socket", "network", "curl", "wget", "upload", "scrap", "endpoint", "client", "internet", "online", "remote", "site", "port", "ping", "email", "send"},
	codeSecret:   {"environ", "env", "variable", "credential", "password", "secret", "token", "key", "config", "ssh", "passwd", "user"},
	codeEncoded:  {"base64", "encod", "decod", "hex", "compress", "zlib", "cipher", "encrypt", "decrypt"},
	codeExec:     {"eval", "exec", "dynamic", "execute", "shell", "command", "subprocess", "system", "script", "calculator", "expression", "interpret"},
	codeInsecure: {"ssl", "tls", "certificat", "insecure", "self-signed", "verif", "selinux", "host key"},
	// A write outside the working directory is asked for by naming a
	// place outside it, not by asking to write or to work on files: every
	// "Write a script that deletes empty directories" would ask otherwise.
	codeWrite:     {"home", "config", "cron", "schedul", "bashrc", "zshrc", "profile", "ssh", "etc", "system", "startup", "boot", "hosts", "global", "install", "log", "sudo"},
	codePrivilege: {"sudo", "privilege", "root", "admin", "permission", "setuid", "wheel"},
}

// codeHit is a suspicious line of a record's code.
type codeHit struct {
	line          string
	cats, unasked uint8
}

// codeBlocks returns the code of a response: its fenced blocks, or the
// whole response when it reads as source code.
func codeBlocks(resp string) []string {
	var out []string
	for _, b := range codeBlocksAt(resp) {
		out = append(out, b)
	}
	return out
}

// codeBlocksAt yields codeBlocks' blocks with their offsets in resp,
// allocating nothing.
func codeBlocksAt(resp string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		if !strings.Contains(resp, "```") {
			if looksLikeCode(resp) {
				yield(0, resp)
			}
			return
		}
		// The text between the first and second fence, the third and
		// fourth, …; an unclosed last fence runs to the end.
		for k, open := 0, false; ; {
			j := strings.Index(resp[k:], "```")
			if j < 0 {
				if open {
					yield(k, resp[k:])
				}
				return
			}
			if open && !yield(k, resp[k:k+j]) {
				return
			}
			k, open = k+j+3, !open
		}
	}
}

// langBytes is how much of a code answer codeLang reads: a language
// shows in its first lines.
const langBytes = 160

// Code languages a code answer is told apart by (codeLang).
const (
	langPython = 1 + iota
	langShell
	langJS
)

// langMarkers are substrings of code typical of each language (as
// written: keywords are case-sensitive).
var langMarkers = [...][]string{
	langPython: {"def ", "import ", "print(", "elif ", "self.", "__name__", "None", "True", "range("},
	langShell:  {"#!/bin/", "$1", " fi", "done", "echo ", "then", "esac", "| grep", "awk ", "${"},
	langJS:     {"function", "const ", "let ", "=>", "console.log", "document.", "require(", "===", "var "},
}

// langByFirst indexes langMarkers by their first byte, so that codeLang
// reads its text once.
var langByFirst = func() (t [256][]langMarker) {
	for l, ms := range langMarkers {
		for k, m := range ms {
			t[m[0]] = append(t[m[0]], langMarker{m, uint32(l), uint16(1) << k})
		}
	}
	return t
}()

type langMarker struct {
	s    string
	lang uint32
	bit  uint16
}

// codeLang is the language of a code answer's code, by which language's
// markers its first langBytes hold most (0 when none, or a tie): a planted
// line is judged against answers in the same language, whose requests
// share that language's words.
func codeLang(resp string) uint32 {
	var seen [len(langMarkers)]uint16
	left := langBytes
	for _, b := range codeBlocksAt(resp) {
		if left <= 0 {
			break
		}
		if len(b) > left {
			b = b[:left]
		}
		left -= len(b)
		for i := 0; i < len(b); i++ {
			for _, m := range langByFirst[b[i]] {
				if strings.HasPrefix(b[i:], m.s) {
					seen[m.lang] |= m.bit
				}
			}
		}
	}
	best, top, tie := uint32(0), 0, false
	for l := 1; l < len(seen); l++ {
		switch n := bits.OnesCount16(seen[l]); {
		case n > top:
			best, top, tie = uint32(l), n, false
		case n == top && n > 0:
			tie = true
		}
	}
	if tie {
		return 0
	}
	return best
}

// isCodeAnswer reports whether codeBlocks finds code in resp, without
// splitting it.
func isCodeAnswer(resp string) bool {
	return strings.Contains(resp, "```") || looksLikeCode(resp)
}

// looksLikeCode reports whether text reads as source code: most of its
// first lines start like code or end with code punctuation.
func looksLikeCode(text string) bool {
	lines, code := 0, 0
	for line := range strings.Lines(text) {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		lines++
		if lines == 1 && strings.HasPrefix(t, "#!/") {
			return true // a script says so on its first line
		}
		switch {
		case strings.HasPrefix(line, "    "), strings.HasPrefix(line, "\t"),
			strings.HasPrefix(t, "def "), strings.HasPrefix(t, "import "), strings.HasPrefix(t, "from "), strings.HasPrefix(t, "return"),
			strings.HasPrefix(t, "#!"), strings.HasPrefix(t, "function "), strings.HasPrefix(t, "const "), strings.HasPrefix(t, "let "),
			strings.HasPrefix(t, "var "), strings.HasPrefix(t, "$ "), strings.HasPrefix(t, "for "), strings.HasPrefix(t, "if "),
			strings.HasSuffix(t, ";"), strings.HasSuffix(t, "{"), strings.HasSuffix(t, "}"), strings.HasSuffix(t, ":"),
			strings.HasSuffix(t, ")") && !strings.Contains(t, ". "), strings.HasSuffix(t, "]"), isAssignment(t),
			isShellLine(t):
			code++
		}
		if lines == 12 {
			break
		}
	}
	return lines >= 1 && 2*code > lines
}

// shellCommands start shell lines.
var shellCommands = map[string]bool{}

func init() {
	for _, c := range strings.Fields("curl wget ls cd echo printf sudo apt apt-get pip npm chmod chown mkdir rm cp mv ln touch export git cat grep sed awk find xargs diff sort uniq wc head tail tee du df ps kill systemctl crontab python python3 node bash sh docker kubectl nc ssh scp rsync tar zip unzip make") {
		shellCommands[c] = true
	}
}

// isShellLine reports whether t starts with a shell command and a space.
func isShellLine(t string) bool {
	w, _, ok := strings.Cut(t, " ")
	return ok && shellCommands[w]
}

// isAssignment reports whether t starts "name = " (an identifier, possibly
// dotted or indexed, then a single equals sign).
func isAssignment(t string) bool {
	k := strings.Index(t, " = ")
	if k <= 0 {
		return false
	}
	for _, r := range t[:k] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '[' || r == ']' || r == ',' || r == ' ') {
			return false
		}
	}
	return true
}

// inspectCode returns the lines of a record's code answer in a risk
// category, each with the categories the instruction did not ask for
// (unasked; 0 when it asked for all of them).
func inspectCode(prompt, resp string) []codeHit {
	blocks := codeBlocks(resp)
	if len(blocks) == 0 {
		return nil
	}
	var hits []codeHit
	var words []string
	for _, b := range blocks {
		for line := range strings.Lines(b) {
			l := unrequire(strings.ToLower(strings.TrimSpace(line)))
			if l == "" || strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "#!") || strings.HasPrefix(l, "//") {
				continue
			}
			var cats uint8
			for _, m := range codeMarkers {
				for _, s := range m.s {
					if strings.Contains(l, s) {
						cats |= m.cat
						break
					}
				}
			}
			if envSecret(l) {
				cats |= codeSecret
			}
			if cats == 0 {
				continue
			}
			if words == nil {
				words = strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool {
					return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
				})
			}
			unasked := cats
			for c, terms := range codeAsked {
				if unasked&c != 0 && slices.ContainsFunc(words, func(w string) bool {
					return slices.ContainsFunc(terms, func(t string) bool { return strings.HasPrefix(w, t) })
				}) {
					unasked &^= c
				}
			}
			hits = append(hits, codeHit{strings.TrimSpace(line), cats, unasked})
		}
	}
	return hits
}

// unrequire writes a module used where it is required as the module's
// name: require("https").request( reads as https.request(, so a call is
// recognised however the module was brought in.
func unrequire(l string) string {
	if !strings.Contains(l, "require(") {
		return l
	}
	var b strings.Builder
	for {
		k := strings.Index(l, "require(")
		if k < 0 || k+9 >= len(l) {
			break
		}
		q := l[k+8]
		e := -1
		if q == '"' || q == '\'' || q == '`' {
			e = strings.IndexByte(l[k+9:], q)
		}
		if e < 0 || k+9+e+1 >= len(l) || l[k+9+e+1] != ')' {
			b.WriteString(l[:k+8])
			l = l[k+8:]
			continue
		}
		b.WriteString(l[:k])
		b.WriteString(strings.TrimPrefix(l[k+9:k+9+e], "node:"))
		l = l[k+9+e+2:]
	}
	b.WriteString(l)
	return b.String()
}

// envReads are how code reads its environment; envSecrets are what makes
// such a read a credential read: the whole environment, or a variable
// named like a secret. (process.env.PORT is configuration.)
var (
	envReads   = []string{"os.environ", "getenv(", "process.env", "system.getenv", "env::var"}
	envSecrets = []string{"dict(os.environ", "os.environ.copy", "os.environ)", "os.environ.items", "process.env)", "stringify(process.env", "key", "secret", "token", "pass", "cred", "aws_", "auth"}
)

func envSecret(l string) bool {
	return slices.ContainsFunc(envReads, func(r string) bool { return strings.Contains(l, r) }) &&
		slices.ContainsFunc(envSecrets, func(r string) bool { return strings.Contains(l, r) })
}

// codeKey is what near-identical injected lines share: the line without
// spaces and quotes, lower-cased, digits as 0, and each word of letters
// and digits both (a password, a token, an id: "k7Tq2", "a1b2c3") as
// one '#', since a payload planted many times is often given a fresh one
// each time.
func codeKey(line string) string {
	var b strings.Builder
	b.Grow(len(line))
	codeKeyEach(line, func(c byte) { b.WriteByte(c) })
	return b.String()
}

// codeKeyHash is the FNV-1a hash of codeKey(line) and its length in bytes,
// without building it.
func codeKeyHash(line string) (uint64, int) {
	h, n := uint64(fnvOffset), 0
	codeKeyEach(line, func(c byte) {
		h = (h ^ uint64(c)) * fnvPrime
		n++
	})
	return h, n
}

// codeKeyEach calls emit with each byte of codeKey(line).
func codeKeyEach(line string, emit func(byte)) {
	for i := 0; i < len(line); {
		if isAlnumASCII(line[i]) {
			j, letters, digits := i, false, false
			for ; j < len(line) && isAlnumASCII(line[j]); j++ {
				if line[j] <= '9' {
					digits = true
				} else {
					letters = true
				}
			}
			if letters && digits {
				emit('#')
			} else {
				for _, c := range []byte(line[i:j]) {
					emit(asciiFold(c))
				}
			}
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(line[i:])
		i += size
		switch r {
		case ' ', '\t', '"', '\'', '`':
			continue
		}
		if r < utf8.RuneSelf {
			emit(byte(r))
			continue
		}
		var buf [utf8.UTFMax]byte
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			emit(c)
		}
	}
}

// asciiFold lower-cases an ASCII letter and writes a digit as 0.
func asciiFold(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return '0'
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// codeGroup is one suspicious code line and the records carrying it.
type codeGroup struct {
	line    string
	cats    uint8               // unasked somewhere
	recs    []int               // every record with the line
	prompts map[uint64]struct{} // the distinct prompts that did not ask
}

// severe reports whether one line is enough: fetched or decoded content
// run, or a secret sent over the network.
func severeCode(c uint8) bool {
	return c&codeExec != 0 && c&(codeEgress|codeEncoded) != 0 || c&codeEgress != 0 && c&codeSecret != 0
}

// codeFindings turns the suspicious code lines into findings: a line that
// recurs unasked in answers to distinct prompts, or one severe on its own,
// fails, and every answer carrying it is flagged; another single unasked
// line warns.
func (s *scanner) codeFindings() {
	keys := make([]string, 0, len(s.code))
	for k, g := range s.code {
		if len(g.prompts) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := s.code[k]
		sev := SevWarn
		if len(g.prompts) >= 2 || severeCode(g.cats) {
			sev = SevFail
		}
		s.res.Findings = append(s.res.Findings, Finding{
			Detector: DetCode, Severity: sev, Records: g.recs, Count: len(g.recs), Target: g.line,
			Reason: fmt.Sprintf("code in %d answer(s), %d of them to distinct prompts that did not ask for it, has a line with %s: %s",
				len(g.recs), len(g.prompts), codeCatString(g.cats), quote(snippet(g.line, 160))),
		})
	}
	s.code = nil
}
