"""Report files written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile


def write_atomic(path: str, text: str | bytes) -> None:
    """Write `text` (UTF-8, or bytes as given) to `path` whole or not at all: a temporary file
    in the folder, renamed."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".mrrcli-", suffix=".tmp")
    try:
        # mkstemp makes the file private; a report gets the mode of the one it replaces, or
        # the usual mode under the umask.
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8") if isinstance(text, str) else text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
