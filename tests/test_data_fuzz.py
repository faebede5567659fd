"""Fuzzed data readers: random bytes and mutated valid files (bits flipped, bytes inserted,
overwritten or deleted, files truncated) fed to every reader through load_dataset.

The contract: a reader either loads a dataset that passes validation, or raises a DataError (or
ConfigError) whose message is one line; never another exception type, never a gigabyte
allocation from a corrupt header, and never code run from a pickle.

Every case starts from a small valid file written here in the real on-disk format. The default
run takes FAST examples per case; `pytest -m slow` runs SLOW per case.
"""

import gzip
import io
import pickle
import resource
import shutil
import struct
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from ganlab.config import DataConfig
from ganlab.data import load_dataset
from ganlab.errors import ConfigError, DataError, MESSAGE_LIMIT
from test_data import _dumps

FAST, SLOW = 25, 1000

# ---- mutations ---------------------------------------------------------------------------------

# Values that break parsers: size fields at their extremes, a GLOBAL and a STACK_GLOBAL opcode that
# name os.system, a pickle STOP, a newline (one-line messages), a zip and a gzip magic.
INTERESTING = [b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x01\x00",
               b"\x80\x00\x00\x00", b"cos\nsystem\n", b"\x8c\x02os\x94\x8c\x06system\x94\x93",
               b"cbuiltins\neval\n", b".", b"\n", b"PK\x03\x04", b"\x1f\x8b\x08"]

position = st.integers(0, 2 ** 20)  # taken modulo the length
op = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(0, 7)),
    st.tuples(st.just("set"), position, st.binary(min_size=1, max_size=8)
              | st.sampled_from(INTERESTING)),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=16)
              | st.sampled_from(INTERESTING)),
    st.tuples(st.just("delete"), position, st.integers(1, 64)),
    st.tuples(st.just("truncate"), position),
)
# A recipe is either [("random", bytes)] or a few mutations of the valid file.
recipe = st.one_of(st.binary(max_size=600).map(lambda b: [("random", b)]),
                   st.lists(op, min_size=1, max_size=4))


def mutate(raw: bytes, ops) -> bytes:
    b = bytearray(raw)
    for o in ops:
        kind, rest = o[0], o[1:]
        if kind == "random":
            return bytes(rest[0])
        i = rest[0] % (len(b) + 1)
        if kind == "flip" and i < len(b):
            b[i] ^= 1 << rest[1]
        elif kind == "set":
            b[i:i + len(rest[1])] = rest[1]
        elif kind == "insert":
            b[i:i] = rest[1]
        elif kind == "delete":
            del b[i:i + rest[1]]
        elif kind == "truncate":
            del b[i:]
    return bytes(b)


# ---- valid seed files, each written in its real format ------------------------------------------

def _idx_seed(n=3):
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8).tobytes()
    return (struct.pack(">IIII", 0x803, n, 28, 28) + images,
            struct.pack(">II", 0x801, n) + bytes(range(n)))


def _cifar_batch(n=2):
    rng = np.random.default_rng(1)
    return {b"batch_label": b"batch", b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"img%d.png" % i for i in range(n)]}


CIFAR_NAMES = [f"data_batch_{i}" for i in range(1, 6)]


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)  # mtime 0: the same bytes, so positions in REGRESSIONS hold


def _tar(members: dict, gzipped: bool) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo("cifar-10-batches-py/" + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return gz(buf.getvalue()) if gzipped else buf.getvalue()


def _image(fmt: str) -> bytes:
    img = Image.new("RGB", (6, 5), (10, 200, 30))
    img.putpixel((2, 2), (255, 0, 0))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def _zip(members: dict, compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, raw in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), raw,
                        compress_type=compression)
    return buf.getvalue()


def _npz(compressed: bool) -> bytes:
    buf = io.BytesIO()
    arrays = dict(x=np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4), y=np.arange(2))
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _npy(x) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


def _csv(n=2) -> bytes:
    rows = np.concatenate([np.full((n, 784), 9), np.arange(n)[:, None]], axis=1)
    buf = io.StringIO()
    np.savetxt(buf, rows, fmt="%d", delimiter=",")
    return buf.getvalue().encode()


def _case(name, target, seed, encode=lambda b: b, others=(), path=None):
    """A fuzz case: the dataset `name` reads `target` (written as encode(mutated seed)) from a
    folder that also holds the valid files `others`; data.path is the folder or `path`."""
    return dict(name=name, target=target, seed=seed, encode=encode, others=dict(others),
                path=path)


IDX_IMAGES, IDX_LABELS = _idx_seed()
CIFAR_BATCH = _dumps(_cifar_batch(), "py2")
CIFAR_BATCHES = {n: CIFAR_BATCH for n in CIFAR_NAMES}
NPY_IMAGES = _npy(np.arange(48, dtype=np.uint8).reshape(3, 4, 4))
IMAGE_FMTS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "bmp": "BMP"}

CASES = {
    "idx-images": _case("mnist", "train-images-idx3-ubyte", IDX_IMAGES,
                        others={"train-labels-idx1-ubyte": IDX_LABELS}),
    "idx-labels": _case("mnist", "train-labels-idx1-ubyte", IDX_LABELS,
                        others={"train-images-idx3-ubyte": IDX_IMAGES}),
    # .gz: mutations of the compressed bytes, and of the content then compressed (which reaches
    # the header checks behind the gzip layer).
    "idx-images.gz": _case("mnist", "train-images-idx3-ubyte.gz", gz(IDX_IMAGES),
                           others={"train-labels-idx1-ubyte.gz": gz(IDX_LABELS)}),
    "idx-images.gz-content": _case("fashion-mnist", "train-images-idx3-ubyte.gz", IDX_IMAGES,
                                   encode=gz,
                                   others={"train-labels-idx1-ubyte.gz": gz(IDX_LABELS)}),
    "cifar-batch": _case("cifar10", "data_batch_3", CIFAR_BATCH,
                         others={n: CIFAR_BATCH for n in CIFAR_NAMES if n != "data_batch_3"}),
    "cifar-batch-protocol4": _case("cifar10", "data_batch_1",
                                   pickle.dumps(_cifar_batch(), protocol=4),
                                   others={n: CIFAR_BATCH for n in CIFAR_NAMES[1:]}),
    "cifar-tar.gz": _case("cifar10", "cifar-10-python.tar.gz", _tar(CIFAR_BATCHES, gzipped=True)),
    "cifar-tar-content": _case("cifar10", "cifar-10-python.tar.gz", _tar(CIFAR_BATCHES, gzipped=False),
                               encode=gz),
    **{f"image-{ext}": _case("images", f"a.{ext}", _image(fmt),
                             others={"b.png": _image("PNG")}) for ext, fmt in IMAGE_FMTS.items()},
    "image-zip": _case("images", "imgs.zip",
                       _zip({f"d/a.{ext}": _image(fmt) for ext, fmt in IMAGE_FMTS.items()}),
                       path="imgs.zip"),
    "image-zip-deflated": _case("images", "imgs.zip",
                                _zip({"a.png": _image("PNG"), "b.bmp": _image("BMP")},
                                     zipfile.ZIP_DEFLATED), path="imgs.zip"),
    "npz": _case("npz", "d.npz", _npz(compressed=False), path="d.npz"),
    "npz-compressed": _case("npz", "d.npz", _npz(compressed=True), path="d.npz"),
    "npy-images": _case("npz", "d.npy", NPY_IMAGES, path="d.npy"),
    "npy-points": _case("npz", "d.npy", _npy(np.linspace(-1, 1, 10).reshape(5, 2)), path="d.npy"),
    "mnist5k-csv.gz": _case("mnist5k", "m.csv.gz", gz(_csv()), path="m.csv.gz"),
    "mnist5k-csv-content": _case("mnist5k", "m.csv.gz", _csv(), encode=gz,
                                 path="m.csv.gz"),
}

# Regression examples: mutations with which the fuzzer found a bug in the readers as they were
# (each fixed in ganlab.data; positions are taken modulo the file length).
REGRESSIONS = {
    # Pickle errors with an empty text (the message ended in ": "), with a NUL byte from the file,
    # and over two lines ("A load persistent id instruction was encountered,\nbut no ...").
    "cifar-batch": [[("insert", 199, b"\0" * 7), ("insert", 199, b"\0" * 7)],
                    [("set", 58, b"\x00")], [("random", b"P")]],
    # tarfile's "file could not be opened successfully:\n- method gz: ..." spans five lines.
    "cifar-tar.gz": [[("random", b"")]],
    "cifar-tar-content": [[("random", b"")]],
    # zipfile.ZipFile(path) raised BadZipFile outside the reader's try.
    "image-zip": [[("flip", 6335, 0)]],
    # NotImplementedError (compression method, "patched data" flag, zip version) and RuntimeError
    # (encrypted member) escaped the exception types the zip reader caught.
    "image-zip-deflated": [[("set", 103348, b"\x00\x00\x00\x01")], [("set", 37812, b"\x00\x00\x01")],
                           [("set", 37811, b"\x00 ")], [("set", 200, b"\x00\x00@")]],
    # zlib.error escaped np.loadtxt's caught types.
    "mnist5k-csv.gz": [[("flip", 10, 0)]],
    # A flipped exponent made a NaN point, loaded without a word.
    "npy-points": [[("set", 373, b"\x00\x00\x00H")]],
}
# Further examples the contract must always cover (not found by the fuzzer; see
# test_data_validation.py): GLOBAL and STACK_GLOBAL opcodes naming os.system or eval inside a valid
# pickle, and headers declaring far more data than the file holds.
CONTRACT_EXAMPLES = {
    "cifar-batch": [[("insert", 0, b"cos\nsystem\n")], [("insert", 2, b"cbuiltins\neval\n")],
                    [("random", b"cos\nsystem\n(S'true'\ntR.")]],
    "cifar-batch-protocol4": [[("insert", 11, b"\x8c\x02os\x94\x8c\x06system\x94\x93")]],
    "idx-images.gz-content": [[("set", 4, b"\xff\xff\xff\xff")]],
    "npy-images": [[("random", NPY_IMAGES.replace(b"(3, 4, 4)", b"(9999999999, 4, 4)"))],
                   [("random", _npy(np.float64(1.5)))]],
}


# ---- the contract ------------------------------------------------------------------------------

_EXECUTED = []


def _audit(event, args):
    # Anything that runs a command or resolves a pickle global through the default (unsafe)
    # machinery while a reader runs: the restricted unpickler must never get there.
    if _ARMED and (event in ("os.system", "os.exec", "os.posix_spawn", "os.spawn",
                             "subprocess.Popen") or (event == "pickle.find_class")):
        _EXECUTED.append((event, args))


_ARMED = False
sys.addaudithook(_audit)


def check(cfg):
    """load_dataset(cfg) loads a valid dataset or raises a one-line DataError/ConfigError."""
    global _ARMED
    _ARMED = True
    try:
        ds = load_dataset(cfg)
    except (DataError, ConfigError) as e:
        msg = str(e)
        assert msg and "\n" not in msg and "\r" not in msg and msg == msg.strip(), repr(msg)
        assert len(msg) <= MESSAGE_LIMIT + 100, msg  # ConfigErrors are not bounded by DataError
        assert msg.isprintable(), repr(msg)
    else:
        assert len(ds) >= 1 and 0 not in ds.shape
        if ds.kind == "points":
            assert torch.isfinite(ds.data).all()
    finally:
        _ARMED = False
    assert not _EXECUTED, _EXECUTED


def run_case(base: Path, case: dict, ops):
    folder = Path(tempfile.mkdtemp(dir=base))
    try:
        for name, raw in case["others"].items():
            (folder / name).write_bytes(raw)
        (folder / case["target"]).write_bytes(case["encode"](mutate(case["seed"], ops)))
        path = folder / case["path"] if case["path"] else folder
        check(DataConfig(name=case["name"], path=str(path), resolution=8))
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module", autouse=True)
def bounded_memory():
    """A 6 GB address-space limit while fuzzing: a reader that believes a corrupt header and
    allocates gigabytes fails the test (MemoryError) instead of swapping the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = 6 * 2 ** 30
    if soft != resource.RLIM_INFINITY and soft < limit:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def fuzz_test(case_name: str, n: int):
    case = CASES[case_name]

    @settings(max_examples=n, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(ops=recipe)
    def inner(base, ops):
        run_case(base, case, ops)

    for ops in REGRESSIONS.get(case_name, []) + CONTRACT_EXAMPLES.get(case_name, []):
        inner = example(ops=ops)(inner)
    return inner


@pytest.mark.parametrize("case_name", list(CASES))
def test_reader_fuzz(base, case_name):
    fuzz_test(case_name, FAST)(base)


@pytest.mark.slow
@pytest.mark.parametrize("case_name", list(CASES))
def test_reader_fuzz_long(base, case_name):
    fuzz_test(case_name, SLOW)(base)


@pytest.mark.parametrize("case_name", list(CASES))
def test_seed_files_are_valid(base, case_name):
    """The unmutated seeds load: the mutations start from files the readers accept."""
    folder = Path(tempfile.mkdtemp(dir=base))
    case = CASES[case_name]
    for name, raw in {**case["others"], case["target"]: case["encode"](case["seed"])}.items():
        (folder / name).write_bytes(raw)
    ds = load_dataset(DataConfig(name=case["name"], path=str(folder / (case["path"] or "")),
                                 resolution=8))
    assert len(ds) >= 1


def test_pickle_global_os_system_is_refused_and_never_called(base, tmp_path):
    marker = tmp_path / "pwned"
    evil = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    for raw in (evil, CIFAR_BATCH[:2] + evil, evil + CIFAR_BATCH):
        folder = Path(tempfile.mkdtemp(dir=base))
        for name in CIFAR_NAMES:
            (folder / name).write_bytes(CIFAR_BATCH)
        (folder / "data_batch_2").write_bytes(raw)
        with pytest.raises(DataError, match="global 'os.system' is not allowed"):
            load_dataset(DataConfig(name="cifar10", path=str(folder)))
        assert not marker.exists()


def test_pickled_ndarray_constructor_cannot_allocate(base):
    """ndarray((10**12,)) in a pickle would allocate a terabyte: numpy.ndarray is only accepted as
    _reconstruct's first argument, with the empty shape numpy writes."""
    for payload in (b"cnumpy\nndarray\n(I1000000000000\n\x85tR.",
                    b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I1000000000000\n"
                    b"\x85S'B'\ntR."):
        folder = Path(tempfile.mkdtemp(dir=base))
        (folder / "data_batch_1").write_bytes(payload)
        for name in CIFAR_NAMES[1:]:
            (folder / name).write_bytes(CIFAR_BATCH)
        with pytest.raises(DataError, match="not a valid CIFAR-10 python batch"):
            load_dataset(DataConfig(name="cifar10", path=str(folder)))
