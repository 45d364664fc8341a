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

// safeBuildTargets are allow-listed callables whose results may receive
// BUILD / SETITEMS / APPENDS (their __setstate__ or container protocol is
// the one a weights-only load uses).
var safeContainerImports = map[string]bool{
	"collections.OrderedDict": true,
	"builtins.set":            true,
	"builtins.frozenset":      true,
	"builtins.bytearray":      true,
}

// dangerousModules: importing anything from these packages (or their
// submodules) means process, code, file, network, import-machinery or
// nested-loader access.
var dangerousModules = []string{
	"os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "importlib", "imp", "pkgutil",
	"runpy", "zipimport", "code", "codeop", "pty", "socket", "_socket", "socketserver", "http",
	"urllib", "urllib2", "urllib3", "requests", "httplib", "ftplib", "telnetlib", "smtplib",
	"poplib", "imaplib", "nntplib", "ssl", "xmlrpc", "asyncio", "shutil", "tempfile", "pathlib",
	"io", "_io", "fileinput", "glob", "ctypes", "_ctypes", "cffi", "multiprocessing", "threading",
	"_thread", "signal", "pickle", "_pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve",
	"types", "functools", "operator", "_operator", "webbrowser", "platform", "commands", "popen2",
	"timeit", "trace", "pdb", "bdb", "cProfile", "profile", "doctest", "venv", "ensurepip",
	"distutils", "setuptools", "pip", "site", "gc", "inspect", "builtins.__import__", "yaml",
	"jinja2", "torch.jit", "torch.hub", "torch.package", "torch.utils.cpp_extension",
	"torch.serialization.load", "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.lib.npyio",
	"joblib", "sklearn.externals.joblib", "keras", "tensorflow", "tf_keras", "_winapi", "winreg",
	"msvcrt", "resource", "sqlite3", "dbm", "zipfile", "tarfile", "logging.config", "compileall",
	"py_compile", "lib2to3", "idlelib", "tkinter", "turtle", "antigravity", "this", "sysconfig",
	"__main__",
}

// dangerousNames are single callables in otherwise tolerable modules.
var dangerousNames = map[string]bool{
	"builtins.eval": true, "builtins.exec": true, "builtins.execfile": true, "builtins.compile": true,
	"builtins.open": true, "builtins.file": true, "builtins.__import__": true, "builtins.getattr": true,
	"builtins.setattr": true, "builtins.delattr": true, "builtins.globals": true, "builtins.locals": true,
	"builtins.vars": true, "builtins.input": true, "builtins.raw_input": true, "builtins.breakpoint": true,
	"builtins.apply": true, "builtins.reload": true, "builtins.exit": true, "builtins.quit": true,
	"builtins.help": true, "builtins.memoryview": true, "builtins.type": true, "builtins.super": true,
	"builtins.classmethod": true, "builtins.staticmethod": true, "builtins.property": true,
	"builtins.map": true, "builtins.filter": true, "builtins.print": true,
	"numpy.load": true, "numpy.fromfile": true, "numpy.save": true, "numpy.loadtxt": true,
	"torch.load": true, "torch.save": true, "torch.storage._load_from_bytes": true,
	"torch._load_global_deps": true, "torch.ops.load_library": true,
	"copyreg._reconstructor": false, // listed explicitly as not dangerous: unknown
}

// py2Modules is Python's fix_imports mapping for protocols < 3, applied so
// that "__builtin__" cannot sidestep the lists.
var py2Modules = map[string]string{
	"__builtin__": "builtins", "copy_reg": "copyreg", "cPickle": "pickle", "exceptions": "builtins",
	"UserDict": "collections", "UserList": "collections", "commands": "subprocess", "urllib2": "urllib",
	"httplib": "http", "SocketServer": "socketserver", "thread": "_thread", "Queue": "queue",
}

// classifyImport decides what importing module.name means.
func classifyImport(module, name string) (Verdict, string, string) {
	full := module + "." + name
	if allowedImports[full] {
		return Safe, "", ""
	}
	if m, ok := py2Modules[module]; ok {
		if allowedImports[m+"."+name] {
			return Safe, "", ""
		}
		module = m
		full = module + "." + name
	}
	for _, part := range append(strings.Split(module, "."), strings.Split(name, ".")...) {
		if strings.HasPrefix(part, "__") && part != "__main__" {
			return Malicious, "dunder-attribute", "import of " + full + " walks a dunder attribute"
		}
	}
	if dangerousNames[full] {
		return Malicious, "dangerous-import", "import of " + full + " (process, code, file, network or loader access)"
	}
	for _, d := range dangerousModules {
		if full == d || strings.HasPrefix(full, d+".") {
			return Malicious, "dangerous-import", "import of " + full + " from dangerous module " + d
		}
	}
	if module == "builtins" && strings.Contains(name, ".") {
		return Malicious, "dangerous-import", "attribute walk through builtins: " + full
	}
	return Unknown, "import-not-allowed", "import of " + full + " is not on the allow-list"
}
