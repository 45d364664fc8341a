package model

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The interpreter below models the pickle virtual machine (protocols 0-5)
// symbolically: it tracks the stack, the mark stack and the memo, records
// every import and call, and never constructs a real object. Strings are kept
// only up to keepLen bytes (enough for module and attribute names).

const (
	keepLen    = 4096
	maxLineLen = 1 << 20
)

type pkind uint8

const (
	kNone pkind = iota
	kBool
	kInt
	kFloat
	kStr
	kBytes
	kList
	kTuple
	kDict
	kSet
	kGlobal
	kObj
	kPersistent
	kBuffer
)

type pval struct {
	kind   pkind
	s      string // str/bytes/int text, when short
	long   bool   // s was too long to keep
	global string // kGlobal: module.name; kObj: the callable's name
	safe   bool   // kGlobal allow-listed; kObj built by an allow-listed callable
	joblib bool   // kObj built by a joblib array wrapper
	// Values the legacy-torch and joblib readers need to size the raw data
	// that follows a pickle: integer values, container items (at most
	// maxItems per container, more set beyond), call arguments and BUILD
	// state.
	num   int64
	numOK bool
	items []*pval
	more  bool
	args  *pval
	state *pval
}

// maxItems bounds the items kept per container and maxKept those kept per
// pickle, so a huge pickle cannot make the interpreter hold it in memory.
const (
	maxItems = 64
	maxKept  = 1 << 20
)

// keepItems records items appended to container c within the budget.
func (vm *pickleVM) keepItems(c *pval, items ...*pval) {
	for _, it := range items {
		if len(c.items) >= maxItems || vm.kept >= maxKept {
			c.more = true
			return
		}
		c.items = append(c.items, it)
		vm.kept++
	}
}

// str returns a kept string value.
func (v *pval) str() (string, bool) {
	if v == nil || v.kind != kStr || v.long {
		return "", false
	}
	return v.s, true
}

// dictGet looks a string key up in a fully kept dict.
func (v *pval) dictGet(key string) (*pval, bool) {
	if v == nil || v.kind != kDict {
		return nil, false
	}
	var found *pval
	for i := 0; i+1 < len(v.items); i += 2 {
		if k, ok := v.items[i].str(); ok && k == key {
			found = v.items[i+1] // a later key wins, as in Python
		}
	}
	return found, found != nil
}

// errPickle is a malformed-stream error with its offset.
type errPickle struct {
	off  int64
	rule string
	msg  string
}

func (e *errPickle) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// errStopScan ends scanning of a stream without an error (joblib array data).
var errStopScan = errors.New("stop")

type pickleVM struct {
	sc     *scan
	member string
	r      *bufio.Reader
	pos    int64 // offset of the next byte
	op     int64 // offset of the current opcode
	stack  []*pval
	marks  []int
	memo   map[uint64]*pval
	proto  int
	joblib bool
	// plain: read by pickle.load, not joblib's unpickler (the nested
	// pickle of an object array), so array wrappers read nothing inline.
	plain    bool
	steps    int
	kept     int
	lineLong bool // the last readLine's line was longer than maxLineLen
	// getattrRefs counts builtins.getattr pushed on the stack (import, GET,
	// DUP), getattrCalls the direct calls of it: more references than calls
	// means it was handed to something else.
	getattrRefs, getattrCalls int
	// risky: the current pickle imported something (or did anything else
	// worth a finding), so loading it runs code even if it fails later.
	risky bool
	// noPersistent: read as pickle.load reads a file, without a
	// persistent_load, so PERSID and BINPERSID fail (CPython fails before
	// reading PERSID's argument).
	noPersistent bool
	// persist maps storage keys to what the persistent ids of the main
	// pickle declared (legacy torch.save format).
	persist map[string]storageRef
}

// storageRef is one ('storage', type, key, location, numel, ...) id.
type storageRef struct {
	typ   string
	numel int64
}

func (vm *pickleVM) fail(rule, format string, args ...any) error {
	return &errPickle{off: vm.op, rule: rule, msg: fmt.Sprintf(format, args...)}
}

func (vm *pickleVM) readByte() (byte, error) {
	b, err := vm.r.ReadByte()
	if err != nil {
		return 0, vm.eof(err)
	}
	vm.pos++
	return b, nil
}

func (vm *pickleVM) eof(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return vm.fail("truncated", "stream ends inside a pickle (no STOP)")
	}
	var ep *errPickle
	if errors.As(err, &ep) {
		return err
	}
	return vm.fail("read-error", "reading: %v", err)
}

func (vm *pickleVM) readN(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(vm.r, b); err != nil {
		return nil, vm.eof(err)
	}
	vm.pos += int64(n)
	return b, nil
}

// readPayload reads n bytes, keeping at most keepLen of them.
func (vm *pickleVM) readPayload(n uint64) (string, bool, error) {
	if n <= keepLen {
		b, err := vm.readN(int(n))
		return string(b), false, err
	}
	d, err := io.CopyN(io.Discard, vm.r, int64(min(n, 1<<62)))
	vm.pos += d
	if err != nil {
		return "", true, vm.eof(err)
	}
	return "", true, nil
}

// readLine reads a text argument. CPython reads lines of any length, so a
// line longer than maxLineLen is read to its end but only its first
// maxLineLen bytes are kept, and vm.lineLong says so: callers treat its
// value as unknown. A line that ends the stream without a newline is a
// truncated pickle, as for CPython.
func (vm *pickleVM) readLine() (string, error) {
	var buf []byte
	vm.lineLong = false
	for {
		chunk, err := vm.r.ReadSlice('\n')
		vm.pos += int64(len(chunk))
		if !vm.lineLong {
			buf = append(buf, chunk...)
			if len(buf) > maxLineLen {
				vm.lineLong, buf = true, buf[:maxLineLen:maxLineLen]
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", vm.eof(err)
		}
		if vm.lineLong {
			return string(buf), nil
		}
		return string(buf[:len(buf)-1]), nil
	}
}

// readName reads the module or name line of GLOBAL and INST; an overlong
// one is no importable name.
func (vm *pickleVM) readName() (string, error) {
	s, err := vm.readLine()
	if vm.lineLong {
		s = "<overlong name>"
	}
	return s, err
}

func (vm *pickleVM) uint(n int) (uint64, error) {
	b, err := vm.readN(n)
	if err != nil {
		return 0, err
	}
	var x uint64
	for i := n - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x, nil
}

func (vm *pickleVM) push(v *pval) error {
	if len(vm.stack)+len(vm.marks) >= vm.sc.lim.MaxStack {
		return vm.fail("limit-exceeded", "stack deeper than %d", vm.sc.lim.MaxStack)
	}
	if v.kind == kGlobal && v.global == callGetattr {
		vm.getattrRefs++
	}
	vm.stack = append(vm.stack, v)
	return nil
}

func (vm *pickleVM) pop() (*pval, error) {
	base := 0
	if len(vm.marks) > 0 {
		base = vm.marks[len(vm.marks)-1]
	}
	if len(vm.stack) <= base {
		return nil, vm.fail("malformed", "pop from an empty stack")
	}
	v := vm.stack[len(vm.stack)-1]
	vm.stack = vm.stack[:len(vm.stack)-1]
	return v, nil
}

func (vm *pickleVM) top() (*pval, error) {
	base := 0
	if len(vm.marks) > 0 {
		base = vm.marks[len(vm.marks)-1]
	}
	if len(vm.stack) <= base {
		return nil, vm.fail("malformed", "empty stack")
	}
	return vm.stack[len(vm.stack)-1], nil
}

// popN pops the top n values, returned in the order they were pushed.
func (vm *pickleVM) popN(n int) ([]*pval, error) {
	items := make([]*pval, n)
	for i := n - 1; i >= 0; i-- {
		it, err := vm.pop()
		if err != nil {
			return nil, err
		}
		items[i] = it
	}
	return items, nil
}

// popOnto pops n arguments and returns them with the value beneath them,
// which stays on the stack: the target of APPEND, SETITEM and BUILD.
func (vm *pickleVM) popOnto(n int) ([]*pval, *pval, error) {
	args, err := vm.popN(n)
	if err != nil {
		return nil, nil, err
	}
	t, err := vm.top()
	return args, t, err
}

// popMark pops everything above the last mark, and the mark.
func (vm *pickleVM) popMark() ([]*pval, error) {
	if len(vm.marks) == 0 {
		return nil, vm.fail("malformed", "no MARK on the stack")
	}
	m := vm.marks[len(vm.marks)-1]
	vm.marks = vm.marks[:len(vm.marks)-1]
	items := append([]*pval(nil), vm.stack[m:]...)
	vm.stack = vm.stack[:m]
	return items, nil
}

func (vm *pickleVM) finding(sev Verdict, rule, format string, args ...any) {
	// An EXT code fails in CPython unless something registered it, so on
	// its own it does not make bytes a pickle.
	if sev != Safe && rule != "extension-code" {
		vm.risky = true
	}
	vm.sc.add(vm.member, vm.op, sev, rule, format, args...)
}

// importGlobal records an import and returns the global it pushes.
func (vm *pickleVM) importGlobal(module, name string) (*pval, error) {
	key := importKey{module, name}
	if g, ok := vm.sc.safeGlobals[key]; ok {
		// A state dict imports the same few globals thousands of times.
		vm.risky = true
		return g, nil
	}
	full := module + "." + name
	if !dottedName(module) || !dottedName(name) {
		// No module has such a name: CPython's import fails here, having
		// run nothing (bytes that only look like opcodes spell these).
		return nil, vm.fail("malformed", "import of %q, which is not a dotted Python name", full)
	}
	vm.risky = true
	if (module == "joblib.numpy_pickle" || module == "sklearn.externals.joblib.numpy_pickle") && name == "NumpyArrayWrapper" && !vm.plain {
		// (scikit-learn < 0.23 vendored joblib under its own name)
		vm.joblib = true
		return &pval{kind: kGlobal, global: full, joblib: true}, nil
	}
	if module == "joblib.numpy_pickle_compat" || module == "joblib.numpy_pickle" && name == "NDArrayWrapper" {
		// joblib < 0.10 kept arrays in side files next to the pickle.
		vm.finding(Unknown, "joblib-external-array", "joblib array wrapper %s reads array data from other files", full)
		return &pval{kind: kGlobal, global: full}, nil
	}
	module, name = py3Name(module, name)
	full = module + "." + name
	if full == callGetattr || full == callReconstructor {
		// Judged when called, by what they are called with.
		return &pval{kind: kGlobal, global: full}, nil
	}
	g := vm.judged(full)
	if g.safe {
		if vm.sc.safeGlobals == nil {
			vm.sc.safeGlobals = map[importKey]*pval{}
		}
		vm.sc.safeGlobals[key] = g
	}
	return g, nil
}

// importKey is an import as the stream spells it.
type importKey struct{ module, name string }

// judged returns the global full (a fully qualified, possibly dotted name),
// recording what classifyImport says of it.
func (vm *pickleVM) judged(full string) *pval {
	module, name, _ := strings.Cut(full, ".")
	v, rule, msg := classifyImport(module, name)
	if v != Safe {
		vm.finding(v, rule, "%s", msg)
	}
	return &pval{kind: kGlobal, global: full, safe: v == Safe}
}

// getattr resolves getattr(target, "name") with a constant name on an
// imported global to the fully qualified name it reaches, judged like an
// import (getattr(collections.OrderedDict, "fromkeys") is
// collections.OrderedDict.fromkeys). On anything else the attribute it
// returns cannot be known: a gadget.
func (vm *pickleVM) getattr(args *pval) *pval {
	if args != nil && args.kind == kTuple && !args.more && (len(args.items) == 2 || len(args.items) == 3) {
		target := args.items[0]
		name, ok := args.items[1].str()
		if ok && target.kind == kGlobal && dottedName(target.global) && dottedName(name) {
			return vm.judged(target.global + "." + name)
		}
	}
	vm.finding(Malicious, "getattr-unresolved", "builtins.getattr on a value or with a name computed at load time: the attribute it returns cannot be judged")
	return &pval{kind: kGlobal, global: "<computed>"}
}

// reconstruct judges copyreg._reconstructor(cls, base, state), which runs
// base.__new__(cls, ...) and, unless base is object, base.__init__: safe
// when cls is a value type that may be built this way and base is object
// or a builtin container.
func (vm *pickleVM) reconstruct(args *pval) *pval {
	if args != nil && args.kind == kTuple && !args.more && len(args.items) == 3 {
		cls, base := args.items[0], args.items[1]
		if cls.kind == kGlobal && cls.joblib && base.kind == kGlobal && base.global == "builtins.object" {
			// joblib.dump with protocol 0 or 1: the array wrapper, whose
			// BUILD is followed by the array's bytes.
			return &pval{kind: kObj, global: cls.global, joblib: true, args: args}
		}
		if cls.kind == kGlobal && cls.safe && reconstructable[cls.global] && base.kind == kGlobal && reconstructable[base.global] && strings.HasPrefix(base.global, "builtins.") {
			return &pval{kind: kObj, global: cls.global, safe: true, args: args}
		}
		if cls.kind == kGlobal && base.kind == kGlobal {
			vm.finding(Unknown, "reconstructor-not-allowed", "copyreg._reconstructor builds %s on base %s: not a value type known to be harmless", cls.global, base.global)
			return &pval{kind: kObj, global: cls.global, args: args}
		}
	}
	vm.finding(Unknown, "reconstructor-not-allowed", "copyreg._reconstructor with arguments that are not (class, base, state) globals")
	return &pval{kind: kObj, global: callReconstructor, args: args}
}

// call records calling callee and returns the result.
func (vm *pickleVM) call(callee, args *pval, how string) (*pval, error) {
	switch callee.kind {
	case kGlobal:
		if callee.joblib {
			return &pval{kind: kObj, global: callee.global, joblib: true, args: args}, nil
		}
		switch callee.global {
		case callGetattr:
			vm.getattrCalls++
			return vm.getattr(args), nil
		case callReconstructor:
			return vm.reconstruct(args), nil
		}
		return &pval{kind: kObj, global: callee.global, safe: callee.safe, args: args}, nil
	case kObj, kPersistent:
		vm.finding(Unknown, "call-of-computed-value", "%s calls a value that is not an imported global", how)
		return &pval{kind: kObj}, nil
	default:
		// A constant or a container is not callable: CPython fails here.
		return nil, vm.fail("malformed", "%s calls a value of kind %d, which is not callable", how, callee.kind)
	}
}

// mutate checks the target of APPEND(S)/SETITEM(S)/ADDITEMS/BUILD: on
// anything but a plain container or an allow-listed object these call
// arbitrary methods.
func (vm *pickleVM) mutate(t *pval, op string) error {
	switch t.kind {
	case kList, kDict, kSet:
	case kObj:
		if !t.safe && !(t.joblib && op == "BUILD") {
			vm.finding(Unknown, "method-call-on-object", "%s on an object built by %s", op, nameOr(t.global))
		}
	case kGlobal:
		vm.finding(Malicious, "mutate-global", "%s on the imported global %s changes it for the whole process", op, t.global)
	case kPersistent:
		vm.finding(Unknown, "method-call-on-object", "%s on an object a persistent_load returned", op)
	default:
		// Constants and tuples have no such method: CPython fails here.
		return vm.fail("malformed", "%s on a value of kind %d", op, t.kind)
	}
	return nil
}

func nameOr(s string) string {
	if s == "" {
		return "a computed value"
	}
	return s
}

// Per-opcode tables, indexed by opcode (package-level: a map literal in
// step would be built for every opcode).
var (
	// operandSize is the byte size of a fixed-size operand (ints, lengths,
	// EXT codes).
	operandSize = [256]int{'J': 4, 'K': 1, 'M': 2, 0x8a: 1, 0x8b: 4, 'T': 4, 'X': 4, 'U': 1, 'B': 4, 'C': 1,
		0x8c: 1, 0x8d: 8, 0x8e: 8, 0x96: 8, 0x82: 1, 0x83: 2, 0x84: 4}
	containerKind = [256]pkind{'t': kTuple, 'l': kList, 'd': kDict, 0x91: kSet}
	opName        = [256]string{'e': "APPENDS", 'u': "SETITEMS", 0x90: "ADDITEMS", 'R': "REDUCE", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX"}
)

var legacyTorchMagic = string([]byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19})

// run executes one pickle up to and including STOP and returns the value.
func (vm *pickleVM) run() (*pval, error) {
	vm.stack, vm.marks = vm.stack[:0], vm.marks[:0]
	vm.memo = map[uint64]*pval{}
	vm.proto = 0
	vm.kept = 0
	vm.getattrRefs, vm.getattrCalls = 0, 0
	for {
		vm.steps++
		if vm.steps&0xffff == 0 && vm.sc.ctx.Err() != nil {
			return nil, vm.sc.ctx.Err()
		}
		vm.op = vm.pos
		op, err := vm.readByte()
		if err != nil {
			return nil, err
		}
		if done, v, err := vm.step(op); err != nil || done {
			return v, err
		}
	}
}

func (vm *pickleVM) step(op byte) (bool, *pval, error) {
	pushK := func(k pkind) error { return vm.push(&pval{kind: k}) }
	switch op {
	case 0x80: // PROTO
		b, err := vm.readByte()
		if err != nil {
			return false, nil, err
		}
		if b > 5 {
			return false, nil, vm.fail("malformed", "unsupported protocol %d", b)
		}
		vm.proto = int(b)
	case 0x95: // FRAME
		if _, err := vm.uint(8); err != nil {
			return false, nil, err
		}
	case '.': // STOP
		v, err := vm.pop()
		if err != nil {
			return false, nil, vm.fail("malformed", "STOP with an empty stack")
		}
		if vm.getattrRefs > vm.getattrCalls {
			// Passed to something that may call it (map, a partial, a
			// default factory): what it reaches is never resolved.
			vm.finding(Malicious, "getattr-unresolved", "builtins.getattr is used as a value, not only called directly: the attributes it reaches cannot be judged")
		}
		return true, v, nil
	case '(':
		if len(vm.stack)+len(vm.marks) >= vm.sc.lim.MaxStack {
			return false, nil, vm.fail("limit-exceeded", "stack deeper than %d", vm.sc.lim.MaxStack)
		}
		vm.marks = append(vm.marks, len(vm.stack))
	case '0': // POP
		if len(vm.marks) > 0 && vm.marks[len(vm.marks)-1] == len(vm.stack) {
			// Python's POP of a bare mark pops the mark.
			vm.marks = vm.marks[:len(vm.marks)-1]
			break
		}
		if _, err := vm.pop(); err != nil {
			return false, nil, err
		}
	case '1': // POP_MARK
		if _, err := vm.popMark(); err != nil {
			return false, nil, err
		}
	case '2': // DUP
		v, err := vm.top()
		if err != nil {
			return false, nil, err
		}
		return false, nil, vm.push(v)
	case 'N':
		return false, nil, pushK(kNone)
	case 0x88, 0x89:
		return false, nil, pushK(kBool)
	case 'I', 'L': // INT, LONG (text)
		line, err := vm.readLine()
		if err != nil {
			return false, nil, err
		}
		if vm.lineLong {
			return false, nil, vm.push(&pval{kind: kInt, long: true})
		}
		if op == 'I' && (line == "00" || line == "01") {
			return false, nil, pushK(kBool)
		}
		t := line
		if op == 'L' && len(t) > 0 && t[len(t)-1] == 'L' {
			t = t[:len(t)-1]
		}
		// Not validated: CPython's int(x, 0) accepts more than any check here
		// would, and a bad literal only makes the load fail.
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		return false, nil, vm.push(&pval{kind: kInt, s: keep(t), num: n, numOK: err == nil})
	case 'J', 'K', 'M': // BININT, BININT1, BININT2
		x, err := vm.uint(operandSize[op])
		if err != nil {
			return false, nil, err
		}
		n := int64(x)
		if op == 'J' {
			n = int64(int32(uint32(x)))
		}
		return false, nil, vm.push(&pval{kind: kInt, num: n, numOK: true})
	case 0x8a, 0x8b: // LONG1, LONG4
		n, err := vm.uint(operandSize[op])
		if err != nil {
			return false, nil, err
		}
		s, long, err := vm.readPayload(n)
		if err != nil {
			return false, nil, err
		}
		v := &pval{kind: kInt, s: s, long: long}
		if !long && len(s) <= 8 {
			v.num, v.numOK = leInt(s), true
		}
		return false, nil, vm.push(v)
	case 'F':
		line, err := vm.readLine()
		if err != nil {
			return false, nil, err
		}
		_ = line // as for INT: CPython's float() decides
		return false, nil, pushK(kFloat)
	case 'G':
		if _, err := vm.readN(8); err != nil {
			return false, nil, err
		}
		return false, nil, pushK(kFloat)
	case 'S': // STRING: a quoted repr
		line, err := vm.readLine()
		if err != nil {
			return false, nil, err
		}
		if vm.lineLong {
			return false, nil, vm.push(&pval{kind: kStr, long: true})
		}
		if len(line) < 2 || (line[0] != '\'' && line[0] != '"') || line[len(line)-1] != line[0] {
			return false, nil, vm.fail("malformed", "STRING argument is not quoted")
		}
		return false, nil, vm.push(&pval{kind: kStr, s: keep(line[1 : len(line)-1]), long: len(line) > keepLen})
	case 'V': // UNICODE: raw-unicode-escape text
		line, err := vm.readLine()
		if err != nil {
			return false, nil, err
		}
		s, ok := rawUnicodeEscape(line)
		if !ok || vm.lineLong {
			// Escapes we do not decode could spell any name: never resolve it.
			return false, nil, vm.push(&pval{kind: kStr, long: true})
		}
		return false, nil, vm.push(&pval{kind: kStr, s: keep(s), long: len(s) > keepLen})
	case 'T', 'X', 'U', 'B', 'C', 0x8c, 0x8d, 0x8e, 0x96:
		size := operandSize[op]
		n, err := vm.uint(size)
		if err != nil {
			return false, nil, err
		}
		if (op == 'T') && int32(n) < 0 {
			return false, nil, vm.fail("malformed", "negative BINSTRING length")
		}
		s, long, err := vm.readPayload(n)
		if err != nil {
			return false, nil, err
		}
		k := kBytes
		switch op {
		case 'X', 0x8c, 0x8d, 'T', 'U': // str (T/U decode to str in Python 3 by default)
			k = kStr
		}
		return false, nil, vm.push(&pval{kind: k, s: s, long: long})
	case 0x97, 0x98: // NEXT_BUFFER, READONLY_BUFFER
		if op == 0x98 {
			_, err := vm.top()
			return false, nil, err
		}
		return false, nil, pushK(kBuffer)
	case ')':
		return false, nil, pushK(kTuple)
	case ']':
		return false, nil, pushK(kList)
	case '}':
		return false, nil, pushK(kDict)
	case 0x8f:
		return false, nil, pushK(kSet)
	case 't', 'l', 'd', 0x91: // TUPLE, LIST, DICT, FROZENSET
		items, err := vm.popMark()
		if err != nil {
			return false, nil, err
		}
		k := containerKind[op]
		if op == 'd' && len(items)%2 != 0 {
			return false, nil, vm.fail("malformed", "DICT with an odd number of items")
		}
		v := &pval{kind: k}
		vm.keepItems(v, items...)
		return false, nil, vm.push(v)
	case 0x85, 0x86, 0x87: // TUPLE1..3
		items, err := vm.popN(int(op - 0x84))
		if err != nil {
			return false, nil, err
		}
		v := &pval{kind: kTuple}
		vm.keepItems(v, items...)
		return false, nil, vm.push(v)
	case 'a': // APPEND
		args, t, err := vm.popOnto(1)
		if err != nil {
			return false, nil, err
		}
		if err := vm.mutate(t, "APPEND"); err != nil {
			return false, nil, err
		}
		if t.kind == kList {
			vm.keepItems(t, args...)
		}
	case 'e', 'u', 0x90: // APPENDS, SETITEMS, ADDITEMS
		items, err := vm.popMark()
		if err != nil {
			return false, nil, err
		}
		if op == 'u' && len(items)%2 != 0 {
			return false, nil, vm.fail("malformed", "SETITEMS with an odd number of items")
		}
		t, err := vm.top()
		if err != nil {
			return false, nil, err
		}
		if err := vm.mutate(t, opName[op]); err != nil {
			return false, nil, err
		}
		if (op == 'e' && t.kind == kList) || (op == 'u' && t.kind == kDict) {
			vm.keepItems(t, items...)
		}
	case 's': // SETITEM
		kv, t, err := vm.popOnto(2)
		if err != nil {
			return false, nil, err
		}
		if err := vm.mutate(t, "SETITEM"); err != nil {
			return false, nil, err
		}
		if t.kind == kDict {
			vm.keepItems(t, kv...)
		}
	case 'b': // BUILD
		args, t, err := vm.popOnto(1)
		if err != nil {
			return false, nil, err
		}
		if err := vm.mutate(t, "BUILD"); err != nil {
			return false, nil, err
		}
		if t.kind == kObj && t.state == nil {
			t.state = args[0]
		}
		if t.joblib {
			return false, nil, vm.joblibArray(t)
		}
	case 'c': // GLOBAL
		module, err := vm.readName()
		if err != nil {
			return false, nil, err
		}
		name, err := vm.readName()
		if err != nil {
			return false, nil, err
		}
		g, err := vm.importGlobal(module, name)
		if err != nil {
			return false, nil, err
		}
		return false, nil, vm.push(g)
	case 0x93: // STACK_GLOBAL
		mn, err := vm.popN(2)
		if err != nil {
			return false, nil, err
		}
		module, name := mn[0], mn[1]
		if module.kind != kStr || name.kind != kStr || module.long || name.long {
			if !mayBeStr(module.kind) || !mayBeStr(name.kind) {
				return false, nil, vm.fail("malformed", "STACK_GLOBAL needs two str values")
			}
			vm.finding(Malicious, "computed-import-name", "STACK_GLOBAL with a module or name that is not a constant string (computed at load time)")
			return false, nil, vm.push(&pval{kind: kGlobal, global: "<computed>"})
		}
		g, err := vm.importGlobal(module.s, name.s)
		if err != nil {
			return false, nil, err
		}
		return false, nil, vm.push(g)
	case 'i': // INST
		module, err := vm.readName()
		if err != nil {
			return false, nil, err
		}
		name, err := vm.readName()
		if err != nil {
			return false, nil, err
		}
		if _, err := vm.popMark(); err != nil {
			return false, nil, err
		}
		g, err := vm.importGlobal(module, name)
		if err != nil {
			return false, nil, err
		}
		v, err := vm.call(g, nil, "INST")
		if err != nil {
			return false, nil, err
		}
		return false, nil, vm.push(v)
	case 'o': // OBJ
		items, err := vm.popMark()
		if err != nil {
			return false, nil, err
		}
		if len(items) == 0 {
			return false, nil, vm.fail("malformed", "OBJ without a class")
		}
		v, err := vm.call(items[0], nil, "OBJ")
		if err != nil {
			return false, nil, err
		}
		return false, nil, vm.push(v)
	case 'R', 0x81, 0x92: // REDUCE, NEWOBJ, NEWOBJ_EX
		n := 2
		if op == 0x92 {
			n = 3 // NEWOBJ_EX: class, args, kwargs
		}
		cv, err := vm.popN(n)
		if err != nil {
			return false, nil, err
		}
		v, err := vm.call(cv[0], cv[1], opName[op])
		if err != nil {
			return false, nil, err
		}
		return false, nil, vm.push(v)
	case 0x82, 0x83, 0x84: // EXT1, EXT2, EXT4
		code, err := vm.uint(operandSize[op])
		if err != nil {
			return false, nil, err
		}
		vm.finding(Malicious, "extension-code", "EXT opcode imports through the copyreg extension registry (code %d), which the scanner cannot resolve", code)
		return false, nil, vm.push(&pval{kind: kGlobal, global: fmt.Sprintf("<ext %d>", code)})
	case 'P': // PERSID
		if vm.noPersistent {
			return false, nil, vm.fail("malformed", "persistent id without a persistent_load")
		}
		if _, err := vm.readLine(); err != nil {
			return false, nil, err
		}
		return false, nil, pushK(kPersistent)
	case 'Q': // BINPERSID
		if vm.noPersistent {
			return false, nil, vm.fail("malformed", "persistent id without a persistent_load")
		}
		id, err := vm.pop()
		if err != nil {
			return false, nil, err
		}
		if err := vm.notePersistent(id); err != nil {
			return false, nil, err
		}
		return false, nil, pushK(kPersistent)
	case 'p', 'q', 'r', 0x94: // PUT, BINPUT, LONG_BINPUT, MEMOIZE
		// The stack first: PUT of nothing fails whatever its index (and
		// reading a text index could mean reading far).
		v, err := vm.top()
		if err != nil {
			return false, nil, err
		}
		idx := uint64(len(vm.memo)) // MEMOIZE: the next index
		if op != 0x94 {
			if idx, err = vm.memoIndex(op, 'p', 'q', "PUT"); err != nil {
				return false, nil, err
			}
		}
		if _, ok := vm.memo[idx]; !ok && len(vm.memo) >= vm.sc.lim.MaxMemo {
			return false, nil, vm.fail("limit-exceeded", "memo larger than %d entries", vm.sc.lim.MaxMemo)
		}
		vm.memo[idx] = v
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		idx, err := vm.memoIndex(op, 'g', 'h', "GET")
		if err != nil {
			return false, nil, err
		}
		v, ok := vm.memo[idx]
		if !ok {
			return false, nil, vm.fail("malformed", "memo GET of missing index %d", idx)
		}
		return false, nil, vm.push(v)
	default:
		return false, nil, vm.fail("malformed", "unknown opcode 0x%02x", op)
	}
	return false, nil, nil
}

// memoIndex reads the memo index operand of a PUT or GET family opcode: a
// decimal line for the text form (text), one byte for the short binary form
// (short), four bytes for the long one.
func (vm *pickleVM) memoIndex(op, text, short byte, what string) (uint64, error) {
	switch op {
	case text:
		line, err := vm.readLine()
		if err != nil {
			return 0, err
		}
		if vm.lineLong && what == "GET" {
			// No PUT stored such an index (that PUT fails below).
			return 0, vm.fail("malformed", "GET of an index longer than %d bytes, which no PUT stored", maxLineLen)
		}
		if vm.lineLong {
			return 0, vm.fail("limit-exceeded", "%s index longer than %d bytes", what, maxLineLen)
		}
		idx, err := pyIndex(line)
		if err != nil {
			return 0, vm.fail("malformed", "bad %s index", what)
		}
		return idx, nil
	case short:
		return vm.uint(1)
	}
	return vm.uint(4)
}

// leInt decodes a LONG1 payload (little-endian two's complement).
func leInt(s string) int64 {
	var x uint64
	for i := len(s) - 1; i >= 0; i-- {
		x = x<<8 | uint64(s[i])
	}
	if n := len(s); n > 0 && n < 8 && s[n-1]&0x80 != 0 {
		x |= ^uint64(0) << (8 * uint(n))
	}
	return int64(x)
}

// notePersistent records a torch storage persistent id
// ('storage', type, key, location, numel[, view]).
func (vm *pickleVM) notePersistent(id *pval) error {
	if id.kind != kTuple || len(id.items) < 5 {
		return nil
	}
	if tag, _ := id.items[0].str(); tag != "storage" {
		return nil
	}
	key, ok := id.items[2].str()
	typ, numel := id.items[1], id.items[4]
	if !ok || typ.kind != kGlobal || !numel.numOK {
		return nil
	}
	if vm.persist == nil {
		vm.persist = map[string]storageRef{}
	}
	if _, seen := vm.persist[key]; !seen && len(vm.persist) >= vm.sc.lim.MaxMemo {
		return vm.fail("limit-exceeded", "more than %d storages", vm.sc.lim.MaxMemo)
	}
	if !typ.safe {
		typ = &pval{global: ""}
	}
	vm.persist[key] = storageRef{typ: typ.global, numel: numel.num}
	return nil
}

// mayBeStr reports whether a value of kind k may be a str at load time.
func mayBeStr(k pkind) bool {
	switch k {
	case kStr, kObj, kGlobal, kPersistent:
		return true
	}
	return false
}

// dottedName reports whether s is a dotted Python identifier.
func dottedName(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

func keep(s string) string {
	if len(s) > keepLen {
		return ""
	}
	return s
}

// pyIndex parses a PUT/GET index the way CPython's int() does for base 10:
// surrounding whitespace, a sign and underscores between digits.
func pyIndex(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	if strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, 64)
}

// rawUnicodeEscape decodes what protocol 0 UNICODE carries; ok is false for
// escapes it does not handle, so the caller treats the value as unknown.
func rawUnicodeEscape(s string) (string, bool) {
	if !bytes.Contains([]byte(s), []byte(`\`)) {
		return s, true
	}
	var out []rune
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(s) {
				return "", false
			}
			x, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
			if err != nil {
				return "", false
			}
			out = append(out, rune(x))
			i += 1 + n
			continue
		}
		out = append(out, rune(s[i]))
	}
	return string(out), true
}

// scanPickles scans every pickle in a stream, one after another, and
// returns the format it found (FormatUnknown when the stream is not a
// pickle).
//
// A stream is a pickle when its loader says so (forced: data.pkl, a
// torch tar's pickle member, an npy object array) or when its first pickle
// parses: it reaches STOP, or it imports or calls something before it
// fails (CPython runs those before it meets the error). Otherwise its
// first bytes only happened to be opcodes: nothing is recorded but an
// unrecognized-format finding, and the caller judges it as data. In the
// same way, bytes after the last STOP that do not parse as a pickle are a
// trailing-data fact, not a pickle: no unpickler runs them. The stream is
// code-bearing (sc.pickleCode, what run's gate refuses) when the loader
// says so, some pickle imports, or pickles fill it to its end; a short
// pickle of constants before bytes that are no pickle (random bytes can
// spell NEWFALSE STOP) is an accident of data, and loads as data.
func (sc *scan) scanPickles(r *bufio.Reader, member string, forced bool) string {
	vm := &pickleVM{sc: sc, member: member, r: r}
	format := FormatPickle
	legacy := false
	code, trailing := forced, false
	defer func() {
		if code || !trailing {
			sc.pickleCode = true
		}
	}()
	for n := 0; ; n++ {
		mark, dropped, start := len(sc.findings), sc.dropped, vm.pos
		vm.risky = false
		v, err := vm.run()
		if err != nil {
			if errors.Is(err, errStopScan) {
				sc.pickle, code = true, true
				return FormatJoblib
			}
			var ep *errPickle
			if errors.As(err, &ep) && (n > 0 || !forced) && !vm.risky && ep.rule != "limit-exceeded" {
				sc.findings, sc.dropped = sc.findings[:mark], dropped
				if n == 0 {
					sc.add(member, ep.off, Unknown, "unrecognized-format", "content matches no known model format (it starts like a pickle but is not one: offset %d: %s)", ep.off, ep.msg)
					trailing = true // all of it is data
					return FormatUnknown
				}
				trailing = true
				sc.add(member, start, Safe, "trailing-data", "%d bytes or more from offset %d, after the last pickle's STOP, do not parse as a pickle (offset %d: %s): no unpickler runs them", ep.off-start+1, start, ep.off, ep.msg)
				break
			}
			if ep != nil {
				sc.add(member, ep.off, Error, ep.rule, "%s", ep.msg)
			} else {
				sc.add(member, vm.pos, Error, "read-error", "%v", err)
			}
			code = true // it imported, or the scanner could not tell
			break
		}
		code = code || vm.risky
		if n == 0 && v.kind == kInt && v.s == legacyTorchMagic {
			legacy, format = true, FormatPyTorchLeg
		}
		if legacy && n == 4 {
			// magic, protocol, sys_info, the object, storage keys: what
			// follows is raw storage bytes, delimited exactly.
			sc.legacyRawStorages(vm, v, member)
			break
		}
		if next, err := r.Peek(1); err != nil || len(next) == 0 {
			break
		}
	}
	sc.pickle = true
	if vm.joblib {
		format = FormatJoblib
	}
	return format
}

// plausiblePickleHead walks opcodes of a protocol 0/1 head syntactically.
func plausiblePickleHead(h []byte) bool {
	sc := &scan{ctx: context.Background(), lim: DefaultLimits()}
	vm := &pickleVM{sc: sc, r: bufio.NewReader(bytes.NewReader(h))}
	vm.memo = map[uint64]*pval{}
	// A head that is the whole stream must reach STOP; a longer stream must
	// parse up to the end of the head. Python rejects what fails here, so a
	// pickle that loads is never missed; one that imports before it fails
	// runs that much and counts too.
	cut := len(h) >= sniffLen
	for {
		vm.op = vm.pos
		op, err := vm.readByte()
		if err != nil {
			return cut
		}
		done, _, err := vm.step(op)
		if done {
			return true
		}
		if err != nil {
			var ep *errPickle
			return vm.risky || cut && errors.As(err, &ep) && ep.rule == "truncated"
		}
	}
}
