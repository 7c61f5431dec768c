"""Atomic file writing: a file appears under its name complete, or not at all."""
import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    If the block raises (or the process is killed), ``path`` keeps its previous
    content and the temporary file is removed (on an exception) or left with a
    ``.tmp`` name that no reader mistakes for the result.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _default_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _default_mode(path):
    """The mode the file would have if opened normally: the old file's, else 0o666 less umask.

    (mkstemp makes the temporary file 0o600, readable only by its owner.)
    """
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
