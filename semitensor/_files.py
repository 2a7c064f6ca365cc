"""The file mechanics under `semitensor.io`: atomic writes and bounded ``.npz`` reads.

Writing: the bytes go to a hidden temporary file beside the destination, named
``.<name>.semitensor-tmp-<pid>-<random>``, which is then renamed onto the destination
(or hard-linked, when an existing file must not be replaced), so a reader sees the old
file or the new one, never half of one. The temporary file is removed on any error
and on SIGTERM; one left by SIGKILL or a power cut is removed by the next write to the
same destination once it is `STALE_SECONDS` old.

Reading: only the members asked for are opened, each header is checked (dtype, shape,
byte count) before any data is read, and nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import math
import os
import secrets
import signal
import stat
import threading
import time
import zipfile

import numpy as np

__all__ = ["STALE_SECONDS", "atomic_write", "open_archive", "read_header", "read_member"]

#: A temporary file of a write to the same destination that is older than this (in
#: seconds) belongs to a write that died (SIGKILL, power cut) and is removed.
STALE_SECONDS = 600

_TAG = ".semitensor-tmp-"
_HARDLINK_UNSUPPORTED = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


class _Terminated(BaseException):
    """SIGTERM arrived during a write: unwind (removing the temporary file), then die."""


def _renamed(exc, path, verb):
    """``exc`` (an OSError about a temporary file) re-worded to name the user's ``path``."""
    if exc.errno is None:
        return type(exc)(f"cannot {verb} {path}: {exc}")
    return OSError(exc.errno, f"cannot {verb} {path}: {exc.strerror}")


def _destination(path):
    """The file a write to ``path`` replaces: the target of a symlink (the link stays)."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    if path.endswith(os.sep) or os.path.isdir(target):
        raise IsADirectoryError(f"{path} is a directory; give the path of a file to write")
    return target


def _remove_stale(directory, name):
    pattern = os.path.join(glob.escape(directory), glob.escape(f".{name}{_TAG}") + "*")
    now = time.time()
    for old in glob.glob(pattern):
        with contextlib.suppress(OSError):
            if now - os.lstat(old).st_mtime > STALE_SECONDS:
                os.remove(old)


def _remove(tmp):
    with contextlib.suppress(FileNotFoundError):
        os.remove(tmp)


@contextlib.contextmanager
def _sigterm_unwinds(tmp, path):
    """On SIGTERM during the block: remove ``tmp``, then re-deliver the signal.

    Only the main thread can set handlers; elsewhere (and where SIGTERM is ignored)
    the write is left as it is, and the stale-file sweep is the fallback.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield
        return
    previous = signal.SIG_DFL if previous is None else previous

    def handler(signum, frame):
        raise _Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        _remove(tmp)
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)  # what would have happened without us
        raise InterruptedError(f"the write of {path} was interrupted by SIGTERM") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def atomic_write(path, write, *, overwrite):
    """Write a file through ``write(fileobj)`` so that ``path`` is never half-written.

    ``path`` is a validated str. A new file gets the permissions the umask gives any
    new file; a replaced file keeps its permissions. A symlink is written through:
    its target is replaced, the link stays. With ``overwrite=False`` exactly one of
    several concurrent writers creates the file; the others get `FileExistsError`.
    OSErrors name ``path``, never the temporary file.
    """
    target = _destination(path)
    if not overwrite and os.path.lexists(target):
        raise FileExistsError(f"{path} exists; pass overwrite=True (--force) to replace it")
    directory, name = os.path.split(os.path.abspath(target))
    _remove_stale(directory, name)
    tmp = os.path.join(directory, f".{name}{_TAG}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with _sigterm_unwinds(tmp, path):
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                with os.fdopen(fd, "wb") as f:
                    if overwrite and os.path.isfile(target):
                        os.chmod(f.fileno(), stat.S_IMODE(os.stat(target).st_mode))
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
                if overwrite:
                    os.replace(tmp, target)
                else:
                    _link_exclusive(tmp, target, path)
            except FileExistsError:
                raise
            except OSError as exc:
                raise _renamed(exc, path, "write") from None
    finally:
        _remove(tmp)
    return path


def _link_exclusive(tmp, target, path):
    """Publish ``tmp`` as ``target`` only if ``target`` does not exist (atomically)."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise FileExistsError(
            f"{path} exists; pass overwrite=True (--force) to replace it"
        ) from None
    except OSError as exc:
        if exc.errno not in _HARDLINK_UNSUPPORTED:
            raise
    # No hard links here (some network and FAT file systems): claim the name with an
    # exclusive create, then rename over the empty placeholder.
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        raise FileExistsError(
            f"{path} exists; pass overwrite=True (--force) to replace it"
        ) from None
    os.replace(tmp, target)


# --- reading -----------------------------------------------------------------------


@contextlib.contextmanager
def open_archive(path):
    """The zip archive at ``path`` (a validated str); ValueError if it is not one."""
    if not os.path.lexists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a semitensor file")
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise _renamed(exc, path, "read") from None
    with f:
        head = f.read(4)
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except Exception as exc:  # BadZipFile, but also NotImplementedError, EOFError, ...
            if head != b"PK\x03\x04":
                raise ValueError(f"{path} is not a semitensor file: not an .npz archive") from None
            if isinstance(exc, zipfile.BadZipFile):  # a zip that lost its end: cut short
                raise ValueError(
                    f"{path} is truncated or corrupt (an incomplete .npz archive)"
                ) from None
            raise ValueError(
                f"{path} is truncated or corrupt ({type(exc).__name__}: {exc})"
            ) from None
        with archive:
            yield archive


def read_header(path, archive, member, name):
    """``(info, version, shape, fortran_order, dtype)`` of an ``.npy`` member.

    Reads the header only. ValueError (naming the file and the array) for a header
    numpy cannot parse, a pickled/object array or a non-numeric dtype, a shape that is
    not a tuple of sizes, or a member whose size disagrees with its header.
    """
    info = archive.getinfo(member)
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"npy format version {version} (written by a newer numpy?)")
            offset = f.tell()
    except Exception as exc:  # zip, zlib and numpy header errors all mean a bad member
        raise ValueError(
            f"{path} is truncated or corrupt: array {name} has no valid header "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{path} is truncated or corrupt: array {name} has shape {shape}")
    if dtype.hasobject:
        raise ValueError(
            f"{path}: array {name} is a pickled (object) array; load refuses it, since "
            "unpickling can run code from the file"
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != offset + nbytes:
        raise ValueError(
            f"{path} is truncated or corrupt: array {name} has a header for "
            f"{nbytes:,} bytes of data but holds {info.file_size - offset:,}"
        )
    return info, offset, tuple(shape), fortran, dtype


def read_member(path, archive, header, name):
    """The array of a member whose header `read_header` returned, as a native-order copy."""
    info, offset, shape, fortran, dtype = header
    # Read straight into the array (one copy of the data in memory, not two).
    out = np.empty(math.prod(shape), dtype=dtype)
    buffer, filled = memoryview(out).cast("B"), 0
    try:
        with archive.open(info) as f:
            f.read(offset)
            while filled < len(buffer):
                n = f.readinto(buffer[filled:])
                if not n:
                    break
                filled += n
            f.read(1)  # reaching the end makes zipfile check the CRC
    except Exception as exc:  # zipfile (bad CRC), zlib, short reads: a bad member
        raise ValueError(
            f"{path} is truncated or corrupt: array {name} cannot be read "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if filled != len(buffer):
        raise ValueError(f"{path} is truncated or corrupt: array {name} is cut short")
    out = out.reshape(shape[::-1]).T if fortran else out.reshape(shape)
    return out.astype(dtype.newbyteorder("="), order="C", copy=False)
