"""Download, integrity and extraction helpers (torchvision.datasets.utils), and the
restricted unpickler that reads CIFAR's pickled batches."""
import bz2
import gzip
import hashlib
import lzma
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

import numpy as np

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url",
           "download_and_extract_archive", "extract_archive", "verify_str_arg",
           "restricted_pickle_load"]

_USER_AGENT = "ember.vision"


def calculate_md5(fpath, chunk_size=1024 * 1024):
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath, md5, **kwargs):
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath, md5=None):
    """True when the file exists and (if `md5` is given) has that MD5 digest."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def _offline_error(url, fpath, err):
    return RuntimeError(
        f"Could not download {url} ({err}). If this machine has no network access, download "
        f"the file elsewhere and place it at {fpath} (folder {os.path.dirname(fpath)}), then "
        f"run again.")


def download_url(url, root, filename=None, md5=None, max_redirect_hops=3):
    """Download `url` into ``root/filename`` unless a verified copy is already there.

    The download goes to a temporary file renamed into place when complete, so an
    interrupted download never leaves a truncated file behind. Without network access
    the RuntimeError names the URL and the path to put the file at by hand.
    """
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.fspath(os.path.join(root, filename))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    fd, tmp_path = tempfile.mkstemp(dir=root, prefix=f".{filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=30) as resp:
            shutil.copyfileobj(resp, out)
        os.replace(tmp_path, fpath)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise _offline_error(url, fpath, err) from None
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
    if not check_integrity(fpath, md5):
        raise RuntimeError(f"File {fpath} downloaded from {url} is corrupted (MD5 mismatch, "
                           f"expected {md5}).")


def _safe_members(tar, to_path):
    """Refuse archive members that would land outside `to_path` (path traversal)."""
    base = os.path.realpath(to_path)
    for member in tar.getmembers():
        target = os.path.realpath(os.path.join(to_path, member.name))
        if os.path.commonpath([base, target]) != base or member.issym() or member.islnk():
            raise RuntimeError(f"Refusing to extract {member.name!r}: it points outside "
                               f"{to_path}")
    return tar.getmembers()


_COMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def extract_archive(from_path, to_path=None, remove_finished=False):
    """Extract a .tar(.gz/.bz2/.xz), .tgz, .zip or single-file .gz/.bz2/.xz archive;
    returns the folder extracted into."""
    to_path = to_path or os.path.dirname(from_path)
    try:
        if tarfile.is_tarfile(from_path):
            with tarfile.open(from_path, "r:*") as tar:
                tar.extractall(to_path, members=_safe_members(tar, to_path))
        elif zipfile.is_zipfile(from_path):
            with zipfile.ZipFile(from_path) as z:
                for name in z.namelist():
                    target = os.path.realpath(os.path.join(to_path, name))
                    if os.path.commonpath([os.path.realpath(to_path), target]) != \
                            os.path.realpath(to_path):
                        raise RuntimeError(f"Refusing to extract {name!r}: it points outside "
                                           f"{to_path}")
                z.extractall(to_path)
        else:
            stem, suffix = os.path.splitext(from_path)
            if suffix not in _COMPRESSORS:
                raise RuntimeError(f"Archive type of {from_path} is not supported (tar, zip, "
                                   f"gz, bz2, xz)")
            out_path = os.path.join(to_path, os.path.basename(stem))
            with _COMPRESSORS[suffix](from_path, "rb") as rf, open(out_path, "wb") as wf:
                shutil.copyfileobj(rf, wf)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError) as err:
        raise RuntimeError(f"Could not extract {from_path}: {err} (corrupted archive?)") \
            from None
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url, download_root, extract_root=None, filename=None,
                                 md5=None, remove_finished=False):
    download_root = os.path.expanduser(download_root)
    extract_root = extract_root or download_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    archive = os.path.join(download_root, filename)
    extract_archive(archive, extract_root, remove_finished)


def verify_str_arg(value, arg=None, valid_values=None, custom_msg=None):
    """`value` when it is a str among `valid_values`, else ValueError."""
    if not isinstance(value, str):
        msg = "Expected type str" + ("" if arg is None else f" for argument {arg}") + \
              f", but got type {type(value)}."
        raise ValueError(msg)
    if valid_values is None:
        return value
    if value not in valid_values:
        if custom_msg is not None:
            raise ValueError(custom_msg)
        raise ValueError(f"Unknown value '{value}' for argument {arg}. Valid values are "
                         f"{{{', '.join(repr(v) for v in valid_values)}}}.")
    return value


def _numpy_reconstruct():
    core = getattr(np, "_core", None) or np.core
    return core.multiarray._reconstruct, core.multiarray.scalar


def _checked_dtype(obj, align=False, copy=False):
    dtype = np.dtype(obj, align, copy)
    if dtype.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed in a data file")
    return dtype


def _latin1_encode(text, encoding="latin1"):
    """How Python 3 writes bytes in protocol-2 pickles: ``_codecs.encode(str, 'latin1')``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("unexpected use of _codecs.encode in a data file")
    return text.encode(encoding)


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits plain containers (dicts, lists, str, bytes, numbers, made by pickle opcodes)
    and numeric NumPy arrays; any other global is refused, so no code in the file runs."""

    def find_class(self, module, name):
        reconstruct, scalar = _numpy_reconstruct()
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy.core.multiarray", "scalar"): scalar,
            ("numpy._core.multiarray", "scalar"): scalar,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): _checked_dtype,
            ("_codecs", "encode"): _latin1_encode,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: data files may only hold dicts, lists, "
            f"strings, bytes, numbers and NumPy arrays")


def restricted_pickle_load(fh, encoding="latin1"):
    """Unpickle a data file (e.g. a CIFAR batch) with the restricted unpickler."""
    return _RestrictedUnpickler(fh, encoding=encoding).load()
