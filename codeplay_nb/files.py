"""Writing files without ever losing one: atomic replacement and output checks made before the work.

* :func:`atomic_write_bytes` / :func:`atomic_path` write to a temporary file in the target's folder, fsync
  it, then ``os.replace`` it onto the target: a reader (or a crash, or a SIGKILL) sees the old file or the
  new one, never an empty or truncated one.
* :func:`check_output` is called *before* generating: the output must not be a folder, its folder must
  exist and be writable, it must not be one of the inputs (``os.path.samefile`` catches hard links and
  other spellings of the same path) and it must not exist unless ``overwrite``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import CodeplayError

TMP_PREFIX = ".codeplay-tmp-"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - some platforms cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; when the block ends without an error the file written
    there is fsynced and renamed onto ``path``. On an error it is removed and ``path`` is untouched."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=suffix or target.suffix, dir=folder)
    except OSError as exc:
        raise CodeplayError(f"cannot write to {folder}: {exc.strerror}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if target.exists():  # keep the permission bits of the file being replaced
            with contextlib.suppress(OSError):
                os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return target


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when both paths name one file: the same resolved path, or the same inode (hard links)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.resolve() == pb.resolve():
            return True
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return False


def check_output(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
                 overwrite: bool = False, flag: str = "--overwrite") -> Path:
    """Check, before doing any work, that ``path`` can be written: raises :class:`CodeplayError` with what to
    do when it is a folder, its folder is missing or read-only, it is one of ``inputs``, or it exists and
    ``overwrite`` is false. ``flag`` names the switch that allows replacing (``overwrite=True`` in Python)."""
    raw = os.fspath(path)
    p = Path(raw)
    if not raw.strip():
        raise CodeplayError("the output path is empty")
    if p.is_dir() or raw.endswith(("/", os.sep)):
        raise CodeplayError(f"output {raw} is a folder; give a file name such as {p / 'out.mid'}")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise CodeplayError(f"output folder {folder} does not exist")
    for src in inputs:
        if src is not None and not overwrite and same_file(p, src):
            raise CodeplayError(f"output {raw} is the input file {src}; choose another output path or pass {flag}")
    if p.exists() and not overwrite:
        raise CodeplayError(f"{raw} already exists; choose another output path or pass {flag} to replace it")
    if p.exists() and not os.access(p, os.W_OK):
        raise CodeplayError(f"cannot write {raw}: the file is read-only")
    try:  # the surest test of a writable folder (root ignores permission bits; read-only mounts do not)
        fd, probe = tempfile.mkstemp(prefix=TMP_PREFIX, dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CodeplayError(f"cannot write to the folder {folder}: {exc.strerror}") from None
    return p
