package model

import "strings"

// The allow-list is what PyTorch's weights_only unpickler and numpy's array
// reconstruction need; nothing else is ever "safe".
var allowedImports = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range []string{
		"collections.OrderedDict",
		"torch._utils._rebuild_tensor",
		"torch._utils._rebuild_tensor_v2",
		"torch._utils._rebuild_tensor_v3",
		"torch._utils._rebuild_parameter",
		"torch._utils._rebuild_parameter_with_state",
		"torch._utils._rebuild_sparse_tensor",
		"torch._utils._rebuild_meta_tensor_no_storage",
		"torch._utils._rebuild_qtensor",
		"torch._utils._rebuild_nested_tensor",
		"torch._utils._rebuild_wrapper_subclass",
		"torch._utils._rebuild_device_tensor_from_numpy",
		"torch._tensor._rebuild_from_type_v2",
		"torch.nn.parameter.Parameter",
		"torch.Size",
		"torch.Tensor",
		"torch.device",
		"torch.serialization._get_layout",
		"torch.storage.UntypedStorage",
		"torch.UntypedStorage",
		"_codecs.encode",
		"builtins.set",
		"builtins.frozenset",
		"builtins.bytearray",
		"builtins.complex",
		"builtins.slice",
		"numpy.core.multiarray._reconstruct",
		"numpy._core.multiarray._reconstruct",
		"numpy.core.multiarray.scalar",
		"numpy._core.multiarray.scalar",
		"numpy.ndarray",
		"numpy.dtype",
	} {
		m[s] = true
	}
	for _, t := range []string{"Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
		"ComplexFloat", "ComplexDouble", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4"} {
		// Storage and tensor classes, CPU and CUDA: PyTorch's weights-only
		// unpickler allows them, and legacy files name them.
		m["torch."+t+"Storage"] = true
		m["torch.cuda."+t+"Storage"] = true
		m["torch."+t+"Tensor"] = true
		m["torch.cuda."+t+"Tensor"] = true
	}
	for _, d := range []string{"float32", "float", "float64", "double", "float16", "half", "bfloat16",
		"int64", "long", "int32", "int", "int16", "short", "int8", "uint8", "bool", "complex64", "complex128",
		"cfloat", "cdouble", "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2",
		"quint8", "qint8", "qint32", "quint4x2", "quint2x4",
		"contiguous_format", "channels_last", "preserve_format", "strided", "sparse_coo",
		"per_tensor_affine", "per_channel_affine"} {
		m["torch."+d] = true
	}
	return m
}()

// Standard-library value types that only construct data: calling them, or
// object.__new__ plus their __setstate__ (copyreg._reconstructor, BUILD),
// runs nothing else. reconstructable marks the classes copyreg may build.
var stdlibValueTypes = []string{
	"collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
	"datetime.date", "datetime.time", "datetime.datetime", "datetime.timedelta", "datetime.timezone",
	"decimal.Decimal", "fractions.Fraction", "uuid.UUID", "argparse.Namespace", "types.SimpleNamespace",
	"pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath",
	"ipaddress.IPv4Address", "ipaddress.IPv6Address", "ipaddress.IPv4Network", "ipaddress.IPv6Network",
	"ipaddress.IPv4Interface", "ipaddress.IPv6Interface",
	"builtins.list", "builtins.dict", "builtins.set", "builtins.frozenset", "builtins.tuple",
	"builtins.bytearray", "builtins.bytes", "builtins.int", "builtins.float", "builtins.complex",
	"builtins.str", "builtins.bool", "builtins.slice", "builtins.range", "builtins.object",
	"builtins.NoneType", "builtins.Ellipsis", "builtins.NotImplemented",
	"collections.UserDict", "collections.UserList", "collections.UserString",
	"array.array", "array._array_reconstructor", "http.HTTPStatus", "re.RegexFlag",
	"time.struct_time", "os.stat_result", "urllib.parse.ParseResult", "urllib.parse.SplitResult",
	"collections.ChainMap", "random.Random", "statistics.NormalDist",
	"re._compile", // a compiled pattern: the regex is compiled, nothing runs
}

// numpyReconstruction: numpy's array, scalar, dtype and random-state
// reconstruction under its 1.x and 2.x module names.
var numpyReconstruction = []string{
	"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
	"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
	"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
	"numpy.ndarray", "numpy.dtype",
	"numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
	"numpy.random._pickle.__generator_ctor",
}

var reconstructable = map[string]bool{}

func init() {
	for _, n := range append(stdlibValueTypes, numpyReconstruction...) {
		allowedImports[n] = true
	}
	for _, n := range stdlibValueTypes {
		reconstructable[n] = true
	}
	for _, n := range []string{"collections.OrderedDict.fromkeys", "builtins.dict.fromkeys", "builtins.int.from_bytes",
		"builtins.bytes.fromhex", "builtins.float.fromhex", "datetime.datetime.fromisoformat", "datetime.date.fromisoformat",
		"datetime.date.fromordinal", "datetime.datetime.fromordinal"} {
		// classmethods that only parse data, reached by getattr(Class, name)
		allowedImports[n] = true
	}
}

// enumClasses are allowed enums whose public attributes are allowed too.
var enumClasses = map[string]bool{"http.HTTPStatus": true, "re.RegexFlag": true}

// cutLast splits a dotted name at its last dot.
func cutLast(full string) (string, string, bool) {
	i := strings.LastIndexByte(full, '.')
	if i < 0 {
		return "", "", false
	}
	return full[:i], full[i+1:], true
}

// Special callables judged when called, by their arguments.
const (
	callGetattr       = "builtins.getattr"
	callReconstructor = "copyreg._reconstructor"
)

// dangerousCallables are the known-dangerous callables (and attributes) by
// module: process, code, file, network, import machinery, nested loaders and
// attribute gadgets. A name ending in "*" is a prefix. The module itself is
// never judged: its other names are unknown unless allow-listed.
var dangerousCallables = func() map[string][]string {
	osNames := "system popen popen2 popen3 popen4 exec* spawn* posix_spawn* fork forkpty kill killpg remove unlink rmdir removedirs " +
		"rename renames replace open fdopen write writev pwrite putenv unsetenv chmod fchmod lchmod chown fchown lchown chdir fchdir " +
		"chroot makedirs mkdir mkfifo mknod symlink link truncate ftruncate startfile set* dup dup2 pipe openpty listdir scandir " +
		"walk fwalk environ _exit abort add_dll_directory"
	loaders := "load loads Unpickler _load _loads"
	m := map[string]string{
		"os": osNames, "posix": osNames, "nt": osNames,
		"subprocess":          "Popen call check_call check_output run getoutput getstatusoutput _*",
		"_posixsubprocess":    "fork_exec",
		"sys":                 "modules exit settrace setprofile addaudithook breakpointhook displayhook excepthook path meta_path path_hooks stdin stdout stderr _getframe setrecursionlimit",
		"builtins":            "eval exec execfile compile open file setattr delattr globals locals vars input raw_input breakpoint apply reload exit quit help memoryview type super classmethod staticmethod property map filter print",
		"importlib":           "import_module reload _bootstrap* __import__",
		"importlib.util":      "spec_from_file_location spec_from_loader module_from_spec find_spec",
		"importlib.machinery": "SourceFileLoader SourcelessFileLoader ExtensionFileLoader PathFinder FileFinder",
		"imp":                 "load_source load_module load_compiled load_dynamic find_module init_builtin",
		"pkgutil":             "resolve_name get_loader find_loader iter_modules walk_packages get_data ImpImporter ImpLoader",
		"runpy":               "run_path run_module _run_code _run_module_code _run_module_as_main",
		"zipimport":           "zipimporter",
		"code":                "interact InteractiveInterpreter InteractiveConsole compile_command",
		"codeop":              "compile_command Compile CommandCompiler",
		"pty":                 "spawn fork openpty",
		"socket":              "socket create_connection create_server socketpair fromfd",
		"_socket":             "socket socketpair",
		"socketserver":        "*Server",
		"http.client":         "HTTPConnection HTTPSConnection",
		"http.server":         "*Server *Handler test",
		"urllib.request":      "urlopen urlretrieve Request build_opener OpenerDirector",
		"urllib":              "urlopen urlretrieve",
		"urllib2":             "urlopen",
		"requests":            "get post put delete patch head options request Session",
		"requests.api":        "get post put delete patch head options request",
		"ftplib":              "FTP FTP_TLS", "telnetlib": "Telnet", "smtplib": "SMTP SMTP_SSL LMTP",
		"poplib": "POP3 POP3_SSL", "imaplib": "IMAP4 IMAP4_SSL", "nntplib": "NNTP",
		"ssl":                "wrap_socket SSLSocket get_server_certificate",
		"xmlrpc.client":      "ServerProxy",
		"asyncio":            "create_subprocess_exec create_subprocess_shell open_connection start_server run get_event_loop",
		"asyncio.subprocess": "create_subprocess_exec create_subprocess_shell",
		"shutil":             "rmtree move copy copy2 copyfile copyfileobj copytree copymode copystat chown make_archive unpack_archive which",
		"tempfile":           "mkstemp mkdtemp NamedTemporaryFile TemporaryFile TemporaryDirectory SpooledTemporaryFile",
		"io":                 "open open_code FileIO", "_io": "open open_code FileIO",
		"fileinput":       "input FileInput",
		"glob":            "glob iglob",
		"ctypes":          "CDLL PyDLL WinDLL OleDLL cdll pydll windll oledll LibraryLoader cast memmove memset string_at wstring_at CFUNCTYPE PYFUNCTYPE WINFUNCTYPE pythonapi",
		"_ctypes":         "dlopen call_function call_cdeclfunction CFuncPtr LoadLibrary",
		"cffi":            "FFI",
		"multiprocessing": "Process Pool get_context Manager",
		"threading":       "Thread Timer",
		"_thread":         "start_new_thread start_new",
		"signal":          "signal alarm setitimer pthread_kill raise_signal",
		"pickle":          loaders, "_pickle": loaders, "cPickle": loaders, "dill": loaders, "cloudpickle": loaders,
		"marshal":   "load loads",
		"shelve":    "open Shelf DbfilenameShelf BsdDbShelf",
		"types":     "FunctionType CodeType LambdaType MethodType ModuleType",
		"functools": "reduce", // calls its argument: an apply gadget
		"operator":  "attrgetter itemgetter methodcaller", "_operator": "attrgetter itemgetter methodcaller",
		"webbrowser": "open open_new open_new_tab get",
		"timeit":     "timeit repeat Timer",
		"trace":      "Trace",
		"pdb":        "run runeval runcall set_trace post_mortem Pdb", "bdb": "Bdb",
		"cProfile": "run runctx Profile", "profile": "run runctx Profile",
		"doctest": "run_docstring_examples testmod testfile debug debug_src script_from_examples DocTestRunner",
		"venv":    "create EnvBuilder", "ensurepip": "bootstrap",
		"setuptools": "setup", "pip": "main",
		"site":                         "main addsitedir",
		"gc":                           "get_objects get_referrers get_referents",
		"inspect":                      "getmembers currentframe stack",
		"yaml":                         "load load_all unsafe_load unsafe_load_all full_load full_load_all",
		"jinja2":                       "Template Environment",
		"torch":                        "load save _load_global_deps",
		"torch.jit":                    "load script trace",
		"torch.hub":                    "load load_state_dict_from_url download_url_to_file",
		"torch.package":                "PackageImporter",
		"torch.utils.cpp_extension":    "load load_inline",
		"torch.serialization":          "load",
		"torch.storage":                "_load_from_bytes",
		"torch.ops":                    "load_library",
		"numpy":                        "load fromfile save savez loadtxt genfromtxt memmap",
		"numpy.lib.npyio":              "load loadtxt genfromtxt",
		"numpy.testing._private.utils": "runstring",
		"numpy.f2py":                   "compile run_main",
		"joblib":                       "load", "sklearn.externals.joblib": "load",
		"_winapi": "CreateProcess", "msvcrt": "system",
		"resource": "setrlimit",
		"sqlite3":  "connect", "dbm": "open",
		"zipfile": "ZipFile", "tarfile": "open TarFile",
		"logging.config": "listen fileConfig dictConfig",
		"compileall":     "compile_dir compile_file compile_path", "py_compile": "compile",
		// Importing these runs their side effect, whatever name is asked for.
		"antigravity": "*", "this": "*",
	}
	out := make(map[string][]string, len(m))
	for mod, names := range m {
		out[mod] = strings.Fields(names)
	}
	return out
}()

// py2Modules is Python's fix_imports mapping for protocols < 3, applied so
// that "__builtin__" cannot sidestep the lists.
var py2Modules = map[string]string{
	"__builtin__": "builtins", "copy_reg": "copyreg", "cPickle": "pickle", "exceptions": "builtins",
	"UserDict": "collections", "UserList": "collections", "commands": "subprocess", "urllib2": "urllib",
	"httplib": "http.client", "SocketServer": "socketserver", "thread": "_thread", "Queue": "queue",
	"urlparse": "urllib.parse",
}

// py2Names are the names fix_imports renames with their module
// (pickle's REVERSE_NAME_MAPPING), by full Python 2 name.
var py2Names = map[string]string{
	"__builtin__.xrange": "builtins.range", "__builtin__.unicode": "builtins.str", "__builtin__.long": "builtins.int",
	"__builtin__.basestring": "builtins.str", "__builtin__.unichr": "builtins.chr", "__builtin__.raw_input": "builtins.input",
	"__builtin__.reduce": "functools.reduce", "__builtin__.intern": "sys.intern", "__builtin__.reload": "importlib.reload",
	"UserDict.UserDict": "collections.UserDict", "UserList.UserList": "collections.UserList", "UserString.UserString": "collections.UserString",
	"itertools.izip": "builtins.zip", "itertools.imap": "builtins.map", "itertools.ifilter": "builtins.filter",
}

// py3Name maps a Python 2 module and name to what fix_imports imports.
func py3Name(module, name string) (string, string) {
	if full, ok := py2Names[module+"."+name]; ok {
		m, n, _ := strings.Cut(full, ".")
		return m, n
	}
	if m, ok := py2Modules[module]; ok {
		return m, name
	}
	return module, name
}

// isDunder reports a magic attribute (__globals__, __class__, ...); names
// that only start with "__" (numpy's __randomstate_ctor) are ordinary.
func isDunder(part string) bool {
	return len(part) > 4 && strings.HasPrefix(part, "__") && strings.HasSuffix(part, "__")
}

// dangerousName reports whether the dotted name module.name, or any
// attribute walk inside it (uuid.os.system reaches os.system), names a
// known-dangerous callable.
func dangerousName(full string) (string, bool) {
	parts := strings.Split(full, ".")
	for i := range parts {
		for j := len(parts) - 1; j > i; j-- {
			mod := strings.Join(parts[i:j], ".")
			names, ok := dangerousCallables[mod]
			if !ok {
				continue
			}
			attr := parts[j]
			for _, n := range names {
				if n == attr || strings.HasSuffix(n, "*") && strings.HasPrefix(attr, strings.TrimSuffix(n, "*")) ||
					strings.HasPrefix(n, "*") && strings.HasSuffix(attr, strings.TrimPrefix(n, "*")) {
					return mod + "." + attr, true
				}
			}
		}
	}
	return "", false
}

// classifyImport judges the fully qualified callable module.name (name may
// be dotted: protocol 4 qualified names, resolved getattr targets): safe
// when allow-listed, malicious when it walks a magic attribute or names a
// known-dangerous callable, unknown otherwise.
func classifyImport(module, name string) (Verdict, string, string) {
	module, name = py3Name(module, name)
	full := module + "." + name
	if allowedImports[full] {
		return Safe, "", ""
	}
	if cls, member, ok := cutLast(full); ok && enumClasses[cls] && dottedName(member) && !strings.HasPrefix(member, "_") {
		// a member (or a public int method) of an allowed enum, as Python
		// 3.11+ pickles enum members: getattr(HTTPStatus, "OK")
		return Safe, "", ""
	}
	for i, part := range strings.Split(full, ".") {
		if isDunder(part) && !(i == 0 && (part == "__main__" || part == "__mp_main__")) {
			return Malicious, "dunder-attribute", "import of " + full + " walks a magic attribute"
		}
	}
	if d, ok := dangerousName(full); ok {
		msg := "import of " + full + " (process, code, file, network or loader access)"
		if d != full {
			msg = "import of " + full + ", which reaches " + d + " (process, code, file, network or loader access)"
		}
		return Malicious, "dangerous-import", msg
	}
	return Unknown, "import-not-allowed", "import of " + full + " is not on the allow-list"
}
