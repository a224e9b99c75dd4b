"""Keras's ``get_file`` (the parts the data sets use), the cache folder, and a safe
loader for ``.npz`` files holding ragged integer sequences (imdb, reuters)."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Dict, Optional

import numpy as np

__all__ = ["ORIGIN", "get_file", "keras_home", "validate_file", "load_npz", "DownloadError"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


class DownloadError(ConnectionError):
    """A data set file could not be downloaded (offline, or the server refused)."""


def keras_home() -> str:
    """``$KERAS_HOME`` if set, else ``~/.keras`` (read at each call)."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return home
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
    return os.path.join(base, ".keras")


def _hasher(algorithm: str, file_hash: Optional[str]):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return "sha256"
    return "md5"


def validate_file(fpath: str, file_hash: str, algorithm: str = "auto", chunk_size: int = 65535) -> bool:
    """Whether the file's sha256 (a 64-hex hash) or md5 equals ``file_hash``."""
    algo = _hasher(algorithm, file_hash)
    h = hashlib.sha256() if algo == "sha256" else hashlib.md5()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest() == str(file_hash)


def _download(origin: str, target: str) -> None:
    print(f"Downloading data from {origin}", flush=True)
    part = target + ".part"
    try:
        with urllib.request.urlopen(origin) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        os.replace(part, target)
    except BaseException:
        if os.path.exists(part):
            os.remove(part)
        raise


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None,
             force_download=False) -> str:
    """Keras's ``keras.utils.get_file``: the path of ``fname`` in
    ``<cache_dir or keras_home()>/<cache_subdir>``, downloaded from ``origin`` when it is
    missing or its hash differs from ``file_hash`` (sha256 for 64 hex digits, else md5).
    With ``extract=True`` (or ``untar=True``) a tar or zip archive is unpacked into
    ``<name>_extracted`` next to it (Keras's layout) and that folder is returned.

    Raises ``DownloadError`` (a ConnectionError) when the download fails, saying which
    file to put where; ValueError when the downloaded file's hash does not match.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(os.fspath(cache_dir) if cache_dir is not None else keras_home())
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    fname = os.fspath(fname) if fname is not None else ""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. "
                             f"Please specify the `fname` argument.")
    elif os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(f"Paths are no longer accepted as the `fname` argument. To specify the file's "
                         f"parent directory, use the `cache_dir` argument. Received: fname={fname}")
    extraction_dir = None
    if extract or untar:
        if "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, fname[:fname.find(".")] + "_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, fname + "_archive")
    else:
        target = os.path.join(datadir, fname)
    algo = _hasher(hash_algorithm, file_hash)
    download = force_download or not os.path.exists(target)
    stale = False
    if not download and file_hash is not None and not validate_file(target, file_hash, algo):
        print(f"A local file was found, but it seems to be incomplete or outdated because the {algo} file "
              f"hash does not match the original value of {file_hash} so we will re-download the data.",
              flush=True)
        download = stale = True
    if download:
        hint = (f"To use it offline, download {origin} on a machine with network access and copy it to "
                f"{target}" + (f" (its {algo} must be {file_hash})" if file_hash else ""))
        try:
            os.makedirs(datadir, exist_ok=True)
            _download(origin, target)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", None) or e
            what = "the cached copy has the wrong checksum and " if stale else ""
            raise DownloadError(f"{what}could not download {fname} from {origin} ({reason}). {hint}.") from None
        if file_hash is not None and not validate_file(target, file_hash, algo):
            raise ValueError(f"Incomplete or corrupted file detected. The {algo} file hash of {target} does not "
                             f"match the provided value of {file_hash}.")
    if extraction_dir is not None:
        _extract(target, extraction_dir, "tar" if untar else archive_format)
        return extraction_dir
    return target


def _extract(path: str, to: str, archive_format) -> None:
    """Unpacks a tar or zip archive into ``to``; members that would land outside it are refused."""
    import tarfile
    formats = ["tar", "zip"] if archive_format in ("auto", None) else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    root = os.path.realpath(to)

    def inside(name: str) -> bool:
        dest = os.path.realpath(os.path.join(root, name))
        return dest == root or dest.startswith(root + os.sep)

    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(path):
            with tarfile.open(path) as t:
                bad = [m.name for m in t.getmembers() if not inside(m.name) or m.issym() or m.islnk()]
                if bad:
                    raise ValueError(f"get_file: {path} has members outside the extraction folder: {bad[:3]}")
                os.makedirs(to, exist_ok=True)
                t.extractall(to)
            return
        if fmt == "zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                bad = [n for n in z.namelist() if not inside(n)]
                if bad:
                    raise ValueError(f"get_file: {path} has members outside the extraction folder: {bad[:3]}")
                os.makedirs(to, exist_ok=True)
                z.extractall(to)
            return
    raise ValueError(f"get_file: {path} is not a {' or '.join(formats)} archive")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and nothing else (object arrays of int lists)."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Refusing to load `{module}.{name}` from a data set file; the file "
                                     f"may be corrupted or malicious.")


def _read_npy(fp) -> np.ndarray:
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError:  # an object array: only NumPy's own classes may be unpickled
        fp.seek(0)
        version = np.lib.format.read_magic(fp)
        if version[0] == 1:
            np.lib.format.read_array_header_1_0(fp)
        elif version[0] in (2, 3):
            np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"Unsupported .npy file version: {version}")
        return _NumpyOnlyUnpickler(fp).load()


def load_npz(path: str) -> Dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file as a dict; object arrays are unpickled with NumPy's
    classes only (so a tampered file cannot run code)."""
    out: Dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            if not member.endswith(".npy"):
                continue
            with z.open(member) as f:
                out[member[:-4]] = _read_npy(io.BytesIO(f.read()))
    return out
