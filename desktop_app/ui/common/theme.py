"""Light and dark palettes, and the few colours of our own that must follow them.

The application follows the system's colour scheme by default; View → Palette can fix
it to light or dark, and the choice is kept in QSettings. Both fixed palettes use the
Fusion style, so they look the same on every platform and every widget honours them.

Widgets that draw with colours of their own (the queue's overdue and due-soon text,
charts, the search highlight) ask `colour(role)` when they paint instead of keeping a
constant, so they stay readable on either background: a light palette gets the dark
red, a dark palette a light one, both with at least 4.5:1 contrast against the base.
`palette_changed` tells open views to repaint after a switch: a widget whose text colour
is one of ours says so once with `colour_text`, and a view that writes colours into rich
text re-renders through `follow_palette`; both stop when the widget is destroyed.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

log = logging.getLogger("clearance_desk.ui")

SETTINGS_KEY = "view/palette"


class PaletteChoice(enum.StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"

    @property
    def title(self) -> str:
        return {"system": "&System palette", "light": "&Light palette", "dark": "&Dark palette"}[self.value]


# Our own colours per role: (on a light palette, on a dark palette).
_COLOURS: dict[str, tuple[str, str]] = {
    "overdue": ("#b3261e", "#ff8a80"),
    "due_soon": ("#8a5a00", "#ffcc66"),
    "conflict": ("#b3261e", "#ff8a80"),
    "ok": ("#1e6b34", "#7fd28f"),
    "error": ("#b3261e", "#ff8a80"),
    "muted": ("#4a4f59", "#b4bac4"),
    "accent": ("#1f3864", "#8fb3ff"),
    "bar": ("#2f5597", "#6f9be0"),
    "search_hit": ("#ffd54f", "#ffd54f"),  # a highlighter: dark text on yellow in both
    "search_hit_text": ("#1a1a1a", "#1a1a1a"),
    "grid": ("#d7dce5", "#4a4d55"),
}
#: Worst to least severe, dark-to-light as well as hue (legible in grey and to red-green colour blindness).
_SEVERITY: tuple[tuple[str, str], ...] = (("#6d1a1a", "#ff6b6b"), ("#c2410c", "#ff9f43"), ("#e0a526", "#ffd166"),
                                          ("#4f7cc4", "#74a7ff"), ("#b9c2cf", "#8d96a3"))


class _Notifier(QObject):
    palette_changed = Signal()


_notifier: _Notifier | None = None
_system_palette: QPalette | None = None
_system_style: str | None = None
_current = PaletteChoice.SYSTEM


def notifier() -> _Notifier:
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


def saved_choice() -> PaletteChoice:
    value = QSettings().value(SETTINGS_KEY, PaletteChoice.SYSTEM.value)
    try:
        return PaletteChoice(str(value))
    except ValueError:
        return PaletteChoice.SYSTEM


def current_choice() -> PaletteChoice:
    return _current


def apply_saved() -> PaletteChoice:
    """Apply the palette kept in QSettings (at start, before the first window)."""
    choice = saved_choice()
    apply(choice, remember=False)
    app = QApplication.instance()
    if isinstance(app, QGuiApplication):
        app.styleHints().colorSchemeChanged.connect(_system_scheme_changed)
    return choice


def apply(choice: PaletteChoice, *, remember: bool = True) -> None:
    """Switch palette now; every open window follows."""
    global _current, _system_palette
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if _system_palette is None:
        _system_palette = QPalette(app.palette())
    _current = PaletteChoice(choice)
    if _current is PaletteChoice.SYSTEM:
        scheme = app.styleHints().colorScheme()
        if scheme == Qt.ColorScheme.Dark and not _is_dark(_system_palette):
            _use_fusion(app, dark_palette())  # the platform says dark but its style kept a light palette
        else:
            if _system_style and app.style().name() != _system_style:
                app.setStyle(QStyleFactory.create(_system_style))
            app.setPalette(_system_palette)
    elif _current is PaletteChoice.DARK:
        _use_fusion(app, dark_palette())
    else:
        _use_fusion(app, light_palette())
    if remember:
        QSettings().setValue(SETTINGS_KEY, _current.value)
    log.debug("palette: %s (dark=%s)", _current.value, is_dark())
    notifier().palette_changed.emit()


def _use_fusion(app: QApplication, palette: QPalette) -> None:
    global _system_style
    if _system_style is None:  # the platform's own style, to go back to; asked only now, as the
        _system_style = app.style().name()  # first QStyle object costs ~5 ms of start-up
    if app.style().name().lower() != "fusion":
        app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(palette)


def _system_scheme_changed(_scheme: object = None) -> None:
    global _system_palette
    if _current is PaletteChoice.SYSTEM:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            _system_palette = None
            app.setPalette(QPalette())  # let the platform theme fill it in again
            apply(PaletteChoice.SYSTEM, remember=False)


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    return QPalette(style.standardPalette()) if style is not None else QPalette()


def dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    window, base, text = QColor("#2b2d31"), QColor("#1e1f22"), QColor("#e8e8e8")
    for role, colour in ((roles.Window, window), (roles.WindowText, text), (roles.Base, base),
                         (roles.AlternateBase, QColor("#26282c")), (roles.ToolTipBase, QColor("#3a3d42")),
                         (roles.ToolTipText, text), (roles.PlaceholderText, QColor("#9aa0a8")),
                         (roles.Text, text), (roles.Button, QColor("#33363b")), (roles.ButtonText, text),
                         (roles.BrightText, QColor("#ff8a80")), (roles.Light, QColor("#4a4d53")),
                         (roles.Midlight, QColor("#3d4046")), (roles.Mid, QColor("#2a2c30")),
                         (roles.Dark, QColor("#18191c")), (roles.Shadow, QColor("#000000")),
                         (roles.Highlight, QColor("#3d6fb6")), (roles.HighlightedText, QColor("#ffffff")),
                         (roles.Link, QColor("#8fb3ff")), (roles.LinkVisited, QColor("#c7a3ff"))):
        p.setColor(roles(role), colour)
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(disabled, role, QColor("#7c8088"))
    p.setColor(disabled, roles.Highlight, QColor("#4a4d53"))
    p.setColor(disabled, roles.Base, QColor("#26282c"))
    return p


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def is_dark() -> bool:
    app = QApplication.instance()
    if not isinstance(app, QGuiApplication):
        return False
    return _is_dark(app.palette())


def colour(role: str) -> QColor:
    """One of our own colours for the current palette (see the module docstring for the roles)."""
    light, dark = _COLOURS[role]
    return QColor(dark if is_dark() else light)


def severity_colours() -> list[QColor]:
    """Critical to Informational, for the current palette."""
    dark = is_dark()
    return [QColor(pair[1] if dark else pair[0]) for pair in _SEVERITY]


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


class _Follower(QObject):
    """Calls `restyle` after every palette change; a child of its widget, so it dies with it."""

    def __init__(self, widget: QObject, restyle: Callable[[], None]) -> None:
        super().__init__(widget)
        self.restyle = restyle
        notifier().palette_changed.connect(self._changed)

    @Slot()
    def _changed(self) -> None:
        self.restyle()


def follow_palette(widget: QObject, restyle: Callable[[], None]) -> None:
    """Call `restyle` after every palette switch for as long as `widget` lives (not now)."""
    _Follower(widget, restyle)


def colour_text(widget: QWidget, role: str, extra_css: str = "") -> None:
    """Give `widget` our text colour `role` (plus `extra_css`), now and after every palette switch."""
    widget.setProperty("themeColour", role)
    widget.setProperty("themeCss", extra_css)
    _apply_text_colour(widget)
    if not widget.property("themeFollows"):
        widget.setProperty("themeFollows", True)
        follow_palette(widget, lambda: _apply_text_colour(widget))


def _apply_text_colour(widget: QWidget) -> None:
    role, extra = widget.property("themeColour"), widget.property("themeCss") or ""
    widget.setStyleSheet(f"color: {colour(str(role)).name()};{(' ' + extra) if extra else ''}")
