"""Fetching the standard archives, for users who are online. Loaders never call this.

    from ganlab.data.download import fetch
    fetch("mnist", "data/mnist")        # then data.name=mnist data.path=data/mnist

Every file is checked against its SHA-256 before it is renamed into place, so a partial or
tampered download never looks like data.
"""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Optional

from ganlab.errors import ConfigError, DataError, suggest

# name -> [(file name, [mirror URLs, tried in order], sha256)].
# Checksums: the values pinned for these files by Keras (CIFAR-10's cifar10.py) and by several
# independent projects (MNIST, Fashion-MNIST), which agree with each other. They were not
# recomputed from the files here (no network when this was written). Where a checksum is unknown,
# leave None rather than guess: download() then warns that it cannot verify the file.
_MNIST_MIRRORS = ("https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
                  "https://ossci-datasets.s3.amazonaws.com/mnist/")  # torchvision's mirror
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # Zalando's README
SOURCES = {
    "mnist": [
        (f, [m + f for m in _MNIST_MIRRORS], h) for f, h in [
            ("train-images-idx3-ubyte.gz",
             "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            ("train-labels-idx1-ubyte.gz",
             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            ("t10k-images-idx3-ubyte.gz",
             "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            ("t10k-labels-idx1-ubyte.gz",
             "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ]
    ],
    "fashion-mnist": [
        (f, [_FASHION + f], h) for f, h in [
            ("train-images-idx3-ubyte.gz",
             "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            ("train-labels-idx1-ubyte.gz",
             "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            ("t10k-images-idx3-ubyte.gz",
             "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            ("t10k-labels-idx1-ubyte.gz",
             "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        ]
    ],
    "cifar10": [
        ("cifar-10-python.tar.gz", ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"],
         "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    ],
}


def sha256_of(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest, sha256: Optional[str], timeout: float = 60.0) -> Path:
    """Stream `url` to `dest`, verify its SHA-256, then rename it into place atomically.

    A mismatch or a network failure is a DataError and leaves nothing at `dest`. `sha256=None`
    downloads unverified, with a warning. An existing `dest` with the right checksum is kept.
    """
    dest = Path(dest)
    if dest.exists() and sha256 is not None and sha256_of(dest) == sha256.lower():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file sits beside dest so that os.replace is a rename on one file system.
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if sha256 is None:
            warnings.warn(f"{url}: no known SHA-256, the download is not verified")
        elif h.hexdigest() != sha256.lower():
            raise DataError(f"{url}: SHA-256 mismatch, expected {sha256.lower()}, got "
                            f"{h.hexdigest()} (corrupt or changed file; nothing was saved)")
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError) as e:
        raise DataError(f"cannot download {url}: {e}") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def fetch(name: str, folder) -> Path:
    """Download the archive(s) of dataset `name` (a key of SOURCES) into `folder`; returns it."""
    if name not in SOURCES:
        raise ConfigError(f"no download source for {name!r}{suggest(name, SOURCES)}; "
                          f"known: {', '.join(sorted(SOURCES))}")
    folder = Path(folder)
    for filename, urls, sha256 in SOURCES[name]:
        errors = []
        for url in urls:
            try:
                download(url, folder / filename, sha256)
                break
            except DataError as e:
                errors.append(str(e))
        else:
            raise DataError(f"every mirror of {filename} failed: {'; '.join(errors)}")
    return folder
