"""One named logger per area under `clearance_desk`, and a rotating file in the data folder.

Nothing sensitive is logged: passwords, passphrases and PINs never reach a logger, and
package contents are referred to by path and digest only.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

ROOT_LOGGER = "clearance_desk"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _LibraryRecords(logging.Handler):
    """On Python's root logger: what libraries log (pyHanko's warnings with their tracebacks)
    goes to the application's log file, never to stderr, where a command prints one line."""

    def __init__(self, target: logging.Handler | None) -> None:
        super().__init__(logging.WARNING)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if self.target is not None and not record.name.startswith(ROOT_LOGGER):
            self.target.handle(record)


def setup_logging(log_dir: Path | None, *, level: int = logging.INFO) -> logging.Logger:
    """Log to a rotating file in `log_dir` (None: to nowhere); libraries' warnings go there too."""
    root = logging.getLogger(ROOT_LOGGER)
    root.setLevel(level)
    python_root = logging.getLogger()
    for logger in (root, python_root):
        for handler in list(logger.handlers):
            if getattr(handler, "_clearance_desk", False):
                logger.removeHandler(handler)
                handler.close()
    file_handler: logging.Handler | None = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / "clearance-desk.log", maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        file_handler._clearance_desk = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
    libraries = _LibraryRecords(file_handler)
    libraries._clearance_desk = True  # type: ignore[attr-defined]
    python_root.addHandler(libraries)
    return root
