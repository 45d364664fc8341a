"""Writes the pickle fixtures of scan/model's TestPickleFixtures.

Run from this directory with Debian's interpreter and packages
(python3 3.11, python3-numpy 1.24, python3-joblib 1.2):

    PYTHONHASHSEED=0 /usr/bin/python3 make.py

benign/   every file must scan "safe": standard-library value types,
          numpy arrays/scalars/dtypes and joblib dumps, protocols 0-5.
malicious/ every file must scan "malicious".
unknown/  honest files the scanner cannot prove harmless (a partial, a class
          of the training script): "unknown", never "malicious".
With PYTHONHASHSEED=0 the outputs are deterministic (set and frozenset
order) for a given Python/numpy/joblib version.
"""
import argparse
import collections
import datetime
import decimal
import fractions
import os
import pathlib
import pickle
import shutil
import types
import uuid

import joblib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def fresh(d):
    p = os.path.join(HERE, d)
    shutil.rmtree(p, ignore_errors=True)
    os.makedirs(p)
    return p


benign = fresh("benign")
malicious = fresh("malicious")
unknown = fresh("unknown")

dd = collections.defaultdict(list)
dd["a"].append(1)
values = {
    "ordereddict": collections.OrderedDict([("a", 1), ("b", [2, 3])]),
    "defaultdict": dd,
    "counter": collections.Counter("abracadabra"),
    "deque": collections.deque([1, 2, 3], maxlen=5),
    "date": datetime.date(2024, 2, 29),
    "time": datetime.time(12, 30, 5, 10),
    "datetime": datetime.datetime(2024, 2, 29, 12, 30, 5, 10),
    "datetime-tz": datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2), "CEST")),
    "timedelta": datetime.timedelta(days=3, seconds=7),
    "timezone": datetime.timezone.utc,
    "decimal": decimal.Decimal("3.14159"),
    "fraction": fractions.Fraction(22, 7),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "list": [1, 2.5, "x", None, True],
    "dict": {"a": 1, "b": {"c": (1, 2)}},
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "tuple": (1, "two", 3.0),
    "bytearray": bytearray(b"\x00\x01\x02"),
    "bytes": b"\x00\xffbytes",
    "int": 2**100,
    "float": 1.5e300,
    "complex": complex(1, -2),
    "str": "h\u00e9llo\n",
    "bool": False,
    "slice": slice(1, 10, 2),
    "range": range(0, 10, 3),
    "namespace": argparse.Namespace(lr=0.001, epochs=3, name="run"),
    "simplenamespace": types.SimpleNamespace(a=1, b="x"),
    "purepath": pathlib.PurePosixPath("/data/train.jsonl"),
    "dict-fromkeys": dict.fromkeys,
    "struct-time": __import__("time").gmtime(0),
    "stat-result": os.stat_result((0o644, 1, 2, 1, 0, 0, 10, 0, 0, 0)),
    "parse-result": __import__("urllib.parse").parse.urlparse("https://example.invalid/a?b=c"),
    "regexflag": __import__("re").IGNORECASE,
    "http-status": __import__("http").HTTPStatus.OK,
    "regex": __import__("re").compile(r"^[a-z]+\d*$", __import__("re").I),
    "random-state": __import__("random").Random(42),
    "chainmap": collections.ChainMap({"a": 1}, {"b": 2}),
    "normaldist": __import__("statistics").NormalDist(0.0, 1.0),
    "np-array-f4": np.arange(12, dtype="<f4").reshape(3, 4),
    "np-array-i8-fortran": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
    "np-array-bool": np.array([True, False]),
    "np-scalar": np.float64(2.5),
    "np-dtype": np.dtype("<u2"),
    "np-state": {"step": 10, "weights": np.ones((2, 2), dtype=np.float16), "lr": np.float32(0.1)},
}
for name, v in values.items():
    for proto in range(6):
        with open(os.path.join(benign, f"{name}.p{proto}.pkl"), "wb") as f:
            pickle.dump(v, f, protocol=proto)

# joblib.dump: arrays follow their NumpyArrayWrapper inline (with 1.2's
# alignment padding), compressed variants wrap the whole stream.
state = {"coef": np.arange(50, dtype=np.float64).reshape(5, 10), "ids": np.arange(7, dtype=np.int32),
         "names": np.array(["a", "bc"], dtype=object), "meta": {"n": 3}}
joblib.dump(state, os.path.join(benign, "joblib-state.joblib"))
joblib.dump(state, os.path.join(benign, "joblib-state-zlib.joblib"), compress=("zlib", 3))
joblib.dump(np.zeros(1000, dtype=np.uint8), os.path.join(benign, "joblib-array.joblib"))
for proto in range(6):  # 0 and 1 build the wrapper with copyreg._reconstructor
    joblib.dump(state, os.path.join(benign, f"joblib-state.p{proto}.joblib"), protocol=proto)

# A pickle with junk after its STOP: pickle.load reads the pickle only.
with open(os.path.join(benign, "trailing-junk.pkl"), "wb") as f:
    f.write(pickle.dumps(values["dict"], protocol=4) + b"\x10\x00junk after the pickle\n")


Point = collections.namedtuple("Point", "x y")


class Config:
    def __init__(self):
        self.lr, self.layers = 0.1, [4, 4]


for name, v in {"partial-int": __import__("functools").partial(int, base=2),
                "main-namedtuple": Point(1, 2), "main-class": Config()}.items():
    for proto in range(6):
        with open(os.path.join(unknown, f"{name}.p{proto}.pkl"), "wb") as f:
            pickle.dump(v, f, protocol=proto)


class Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


evil = {
    "os-system": Reduce(os.system, ("id",)),
    "eval": Reduce(eval, ("1+1",)),
    "exec": Reduce(exec, ("pass",)),
    "open": Reduce(open, ("/etc/passwd",)),
    "getattr-dunder": Reduce(getattr, (collections.OrderedDict, "__init__")),
    "getattr-of-call": Reduce(getattr, (Reduce(collections.OrderedDict, ()), "update")),
    "nested-in-dict": {"a": [1, Reduce(os.system, ("id",))]},
}
for name, v in evil.items():
    for proto in range(6):
        with open(os.path.join(malicious, f"{name}.p{proto}.pkl"), "wb") as f:
            pickle.dump(v, f, protocol=proto)
