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


def setup_logging(log_dir: Path | None, *, level: int = logging.INFO) -> logging.Logger:
    root = logging.getLogger(ROOT_LOGGER)
    root.setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "_clearance_desk", False):
            root.removeHandler(handler)
            handler.close()
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            log_dir / "clearance-desk.log", maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._clearance_desk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    return root
