"""SVG icons from resources/icons, cached; SVG stays crisp on high-DPI screens."""

from __future__ import annotations

import functools

from PySide6.QtGui import QIcon

from desktop_app.infra.resources import resource_path


@functools.cache
def icon(name: str) -> QIcon:
    return QIcon(str(resource_path(f"icons/{name}.svg")))
