"""The dashboard: the queue's health and the period's activity in numbers and charts.

Figures come from `ReportService.figures` on a worker thread (SQL aggregates, well
under a second on 100,000 submissions), so the window never waits on the database;
an answer that arrives after the user changed the period is dropped. Every tile and
chart element opens the queue filtered to what it counted (`filter_requested`, which
the main window handles); where the queue cannot express a chart's filter exactly the
link says so. Charts are reachable by keyboard (Tab to a chart, arrows to choose a bar,
Enter to open it) and each chart's accessible description reads out all its numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCharts import (
    QAbstractBarSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QHorizontalStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont, QKeyEvent, QKeySequence, QPainter, QPalette, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app import APP_NAME
from desktop_app.domain.clock import DUE_SOON_DAYS
from desktop_app.domain.types import Severity
from desktop_app.services.reports import ChartPick, Figures, Period, QueueLink, ReportService, queue_link
from desktop_app.ui.common import icons, theme
from desktop_app.ui.threads import run_task

log = logging.getLogger("clearance_desk.ui")

PERIODS: tuple[tuple[str, int], ...] = (("Last 4 weeks", 4), ("Last 13 weeks", 13), ("Last 26 weeks", 26),
                                         ("Last 52 weeks", 52))
DEFAULT_WEEKS = 13
CHANGE_POLL_MS = 20_000


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@dataclass(frozen=True)
class _Element:
    """One bar (or stacked segment) a user can open."""

    pick: ChartPick
    label: str
    value: int


class Tile(QPushButton):
    """A headline number over its caption; when it has a queue behind it, a button that opens it.

    Tiles without a queue (period figures) take no focus and do nothing when clicked,
    but still read out their number to a screen reader.
    """

    def __init__(self, label: str, pick: ChartPick | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label, self.pick = label, pick
        self.setObjectName("dashboardTile" if pick is not None else "dashboardFigure")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus if pick is not None else Qt.FocusPolicy.NoFocus)
        self.setFlat(pick is None)
        if pick is not None:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.value_label = QLabel("…")
        self.value_label.setObjectName("tileValue")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setBold(True)
        self.value_label.setFont(font)
        self.caption = QLabel(label)
        self.caption.setObjectName("tileCaption")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 8)
        layout.setSpacing(0)
        for child in (self.value_label, self.caption):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(child)
        self.setFixedHeight(self.value_label.sizeHint().height() + 2 * self.caption.fontMetrics().lineSpacing() + 18)
        self.setMinimumWidth(120)
        self.set_value("…")

    def set_value(self, value: str, note: str = "") -> None:
        self.value = value
        self.value_label.setText(value)
        tip = f"{self.label}: {value}" + (f" ({note})" if note else "")
        if self.pick is not None:
            tip += ". Opens the queue showing them."
        self.setToolTip(tip)
        self.setAccessibleName(f"{self.label}: {value}")
        self.setAccessibleDescription(tip)


class ChartCard(QChartView):
    """A bar chart whose bars open the queue: by mouse, or by arrows and Enter."""

    picked = Signal(object)  # ChartPick

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.elements: list[_Element] = []
        self._current = -1
        self._sets: list[tuple[QBarSet, list[_Element]]] = []
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(name)
        self.setMinimumHeight(230)
        self.setMinimumWidth(280)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        chart = QChart()
        chart.setTitle(name)
        chart.legend().hide()
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.setChart(chart)

    # -- drawing ---------------------------------------------------------------------------
    def show_bars(self, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int], QColor,
                                                                         Sequence[ChartPick]]],
                  *, horizontal: bool = True, stacked: bool = False, legend: bool = False,
                  labels: bool = True) -> None:
        """Replace the chart: one bar per category, one set per series (stacked when asked)."""
        chart = self.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        if horizontal:
            bar_series: QAbstractBarSeries = QHorizontalStackedBarSeries() if stacked else QHorizontalBarSeries()
        else:
            bar_series = QBarSeries()
        self._sets = []
        self.elements = []
        shown = list(reversed(categories)) if horizontal else list(categories)  # first category on top
        order = list(reversed(range(len(categories)))) if horizontal else list(range(len(categories)))
        for title, values, colour, picks in series:
            bar_set = QBarSet(title)
            bar_set.setColor(colour)
            bar_set.setBorderColor(colour)
            bar_set.setSelectedColor(theme.colour("search_hit"))
            for i in order:
                bar_set.append(float(values[i]))
            bar_set.setLabelColor(_text_on(colour) if stacked else self.palette().color(QPalette.ColorRole.Text))
            elements = [_Element(picks[i], f"{categories[i]}{' — ' + title if len(series) > 1 else ''}", int(values[i]))
                        for i in order]
            bar_set.clicked.connect(lambda index, elements=elements: self._open(elements[index]))
            bar_set.hovered.connect(lambda status, index, elements=elements: self._hover(status, elements[index]))
            bar_series.append(bar_set)
            self._sets.append((bar_set, elements))
        for i in range(len(categories)):  # keyboard order: categories top to bottom, then series
            for _bar_set, elements in self._sets:
                element = elements[order.index(i)]
                if element.value:
                    self.elements.append(element)
        bar_series.setLabelsVisible(labels and (horizontal or len(categories) <= 10))
        bar_series.setLabelsFormat("@value")
        bar_series.setLabelsPrecision(9)
        bar_series.setLabelsPosition(QAbstractBarSeries.LabelsPosition.LabelsCenter if stacked
                                     else QAbstractBarSeries.LabelsPosition.LabelsOutsideEnd)
        bar_series.setBarWidth(min(0.75, 0.25 * max(1, len(categories))))
        chart.addSeries(bar_series)
        category_axis = QBarCategoryAxis()
        category_axis.append([_fit(c, 38) for c in shown] or [""])
        value_axis = QValueAxis()
        totals = [sum(s[1][i] for s in series) for i in range(len(categories))] if stacked else \
            [v for s in series for v in s[1]]
        top = max(totals, default=0)
        value_axis.setRange(0, _nice_top(top))
        value_axis.setLabelFormat("%d")
        value_axis.setTickCount(5)
        value_axis.applyNiceNumbers()
        if horizontal:
            chart.addAxis(category_axis, Qt.AlignmentFlag.AlignLeft)
            chart.addAxis(value_axis, Qt.AlignmentFlag.AlignBottom)
        else:
            chart.addAxis(category_axis, Qt.AlignmentFlag.AlignBottom)
            chart.addAxis(value_axis, Qt.AlignmentFlag.AlignLeft)
            category_axis.setLabelsAngle(-90 if len(categories) > 6 else 0)
        bar_series.attachAxis(category_axis)
        bar_series.attachAxis(value_axis)
        chart.legend().setVisible(legend)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self._current = -1
        self._describe(series, categories)
        self.restyle()

    def _describe(self, series: Sequence[tuple[str, Sequence[int], QColor, Sequence[ChartPick]]],
                  categories: Sequence[str]) -> None:
        parts = []
        for i, category in enumerate(categories):
            if len(series) == 1:
                parts.append(f"{category} {series[0][1][i]:,}")
            else:
                inner = ", ".join(f"{title} {values[i]:,}" for title, values, *_ in series if values[i])
                parts.append(f"{category} {sum(s[1][i] for s in series):,}" + (f" ({inner})" if inner else ""))
        description = f"{self.name}: " + ("; ".join(parts) if parts else "nothing to show") + \
            ". Use the arrow keys to choose a bar and Enter to show it in the queue."
        self.setAccessibleDescription(description)
        self.setToolTip("Click a bar to show those submissions in the queue")

    def restyle(self) -> None:
        """Colours from the current palette (called again when it changes)."""
        chart = self.chart()
        palette = self.palette()
        text, base = palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base)
        # Not QChart.setTheme: a theme recolours the bars, and the severity colours carry meaning.
        chart.setBackgroundBrush(base)
        chart.setBackgroundPen(palette.color(QPalette.ColorRole.Mid))
        chart.setBackgroundRoundness(0)
        title_font = QFont(self.font())
        title_font.setBold(True)
        chart.setTitleFont(title_font)
        chart.setTitleBrush(text)
        chart.legend().setLabelColor(text)
        for axis in chart.axes():
            axis.setLabelsColor(text)
            axis.setGridLineColor(theme.colour("grid"))
            axis.setLinePenColor(theme.colour("grid"))
        for series in chart.series():
            if isinstance(series, QHorizontalStackedBarSeries):
                continue
            for bar_set in series.barSets():  # type: ignore[attr-defined]
                bar_set.setLabelColor(text)

    # -- picking ---------------------------------------------------------------------------
    def _hover(self, status: bool, element: _Element) -> None:
        from PySide6.QtGui import QCursor
        from PySide6.QtWidgets import QToolTip

        if status:
            QToolTip.showText(QCursor.pos(), f"{element.label}: {element.value:,}\nClick to show them in the queue",
                              self)
        else:
            QToolTip.hideText()

    def _open(self, element: _Element) -> None:
        self.picked.emit(element.pick)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Left) and self.elements:
            step = 1 if key in (Qt.Key.Key_Down, Qt.Key.Key_Right) else -1
            self._select((self._current + step) % len(self.elements) if self._current >= 0 else 0)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and 0 <= self._current < len(self.elements):
            self._open(self.elements[self._current])
            return
        super().keyPressEvent(event)

    def _select(self, index: int) -> None:
        self._current = index
        element = self.elements[index]
        for bar_set, elements in self._sets:
            bar_set.deselectAllBars()
            for position, candidate in enumerate(elements):
                if candidate is element:
                    bar_set.selectBar(position)
        text = f"{element.label}: {element.value:,}"
        self.setAccessibleDescription(f"{self.name}. Selected {text}. Enter shows it in the queue.")
        self.setToolTip(text)
        from PySide6.QtWidgets import QToolTip

        if self.hasFocus():
            QToolTip.showText(self.mapToGlobal(self.rect().center()), text, self)

    def focusOutEvent(self, event) -> None:  # noqa: ANN001, N802
        for bar_set, _elements in self._sets:
            bar_set.deselectAllBars()
        self._current = -1
        super().focusOutEvent(event)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _text_on(fill: QColor) -> QColor:
    """Black or white, whichever reads better on `fill`."""
    black, white = QColor("black"), QColor("white")
    return black if theme.contrast_ratio(fill, black) >= theme.contrast_ratio(fill, white) else white


def _nice_top(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value * 1.08 <= factor * magnitude:  # room for the labels at the bars' ends
            return int(factor * magnitude)
    return int(10 * magnitude)


class Dashboard(QWidget):
    """A window of tiles and charts; `filter_requested(QueueLink)` asks the main window to show a queue."""

    filter_requested = Signal(object)
    loaded = Signal(object)  # Figures, after each refresh (tests and the screenshot script wait on it)

    def __init__(self, reports: ReportService, parent: QWidget | None = None, *,
                 change_marker: Callable[[], int] | None = None,
                 run: Callable[..., object] = run_task) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.reports = reports
        self._change_marker = change_marker
        self._run = run
        self._generation = 0
        self._marker: int | None = None
        self.figures: Figures | None = None
        self.setWindowTitle(f"Dashboard — {APP_NAME}")
        self.setWindowIcon(icons.icon("app"))
        self.setObjectName("dashboard")
        screen = self.screen().availableGeometry()
        self.resize(min(1400, int(screen.width() * 0.92)), min(960, int(screen.height() * 0.92)))

        self.period = QComboBox()
        self.period.setAccessibleName("Period")
        self.period.setToolTip("The period the activity figures cover (received, decided, findings, intake)")
        for label, weeks in PERIODS:
            self.period.addItem(label, weeks)
        self.period.setCurrentIndex([w for _, w in PERIODS].index(DEFAULT_WEEKS))
        self.period.currentIndexChanged.connect(lambda _i: self.refresh())
        period_label = QLabel("&Period:")
        period_label.setBuddy(self.period)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Recount everything (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QLabel("Counting…")
        self.status.setAccessibleName("Dashboard status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(period_label)
        top.addWidget(self.period)
        top.addWidget(self.refresh_button)
        top.addSpacing(12)
        top.addWidget(self.status, 1)

        self.tiles = {
            "open": Tile("Open", ChartPick("open")),
            "due_soon": Tile(f"Due within {DUE_SOON_DAYS} days", ChartPick("due_soon")),
            "overdue": Tile("Overdue", ChartPick("overdue")),
            "unassigned": Tile("Open and unassigned", None),
            "received": Tile("Received in the period", None),
            "decided": Tile("Decided in the period", None),
            "median": Tile("Median days to decision", None),
            "p90": Tile("90th percentile days to decision", None),
            "conditions_due": Tile("Conditions due", ChartPick("conditions", "due")),
            "conditions_overdue": Tile("Conditions overdue", ChartPick("conditions", "overdue")),
        }
        for tile in self.tiles.values():
            if tile.pick is not None:
                tile.clicked.connect(lambda _checked=False, t=tile: self._open(t.pick))
        tiles = QHBoxLayout()
        tiles.setSpacing(6)
        for tile in self.tiles.values():
            tiles.addWidget(tile)

        self.charts = {
            "status": ChartCard("Submissions by status"),
            "decisions": ChartCard("Decisions in the period, by outcome"),
            "workload": ChartCard("Workload per reviewer (open, assigned)"),
            "intake": ChartCard("Intake per week (received)"),
            "findings": ChartCard("Findings in the period, by category and severity"),
            "conditions": ChartCard("Conditions of issued letters, by status"),
        }
        self.charts["findings"].setMinimumHeight(300)
        for card in self.charts.values():
            card.picked.connect(self._open)
        grid = QGridLayout()
        grid.setSpacing(6)
        grid.addWidget(self.charts["status"], 0, 0)
        grid.addWidget(self.charts["decisions"], 0, 1)
        grid.addWidget(self.charts["workload"], 0, 2)
        grid.addWidget(self.charts["conditions"], 0, 3)
        grid.addWidget(self.charts["intake"], 1, 0)
        grid.addWidget(self.charts["findings"], 1, 1, 1, 3)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 6)
        for column in range(4):
            grid.setColumnStretch(column, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(tiles)
        layout.addLayout(grid, 1)

        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self, self.close)
        QShortcut(QKeySequence("Escape"), self, self.close)
        self.setTabOrder(self.period, self.refresh_button)
        previous: QWidget = self.refresh_button
        for widget in [*(t for t in self.tiles.values() if t.pick is not None), self.charts["status"],
                       self.charts["decisions"], self.charts["workload"], self.charts["conditions"],
                       self.charts["intake"], self.charts["findings"]]:
            self.setTabOrder(previous, widget)
            previous = widget
        theme.notifier().palette_changed.connect(self._restyle)
        self._poll = QTimer(self, interval=CHANGE_POLL_MS)
        self._poll.timeout.connect(self._check_for_changes)
        self._restyle()

    # -- loading ---------------------------------------------------------------------------
    def current_period(self) -> Period:
        return self.reports.recent_weeks(int(self.period.currentData()))

    def refresh(self) -> None:
        """Recount on a worker thread; only the newest answer is shown."""
        self._generation += 1
        generation = self._generation
        period = self.current_period()
        self.status.setText(f"Counting {period.label}…")
        self.refresh_button.setEnabled(False)
        started = time.perf_counter()
        reports, marker = self.reports, self._change_marker

        def work() -> tuple[Figures, int | None]:
            return reports.figures(period), marker() if marker is not None else None

        self._run(work, on_done=lambda result: self._show(generation, result, started),
                  on_error=lambda error: self._failed(generation, error))

    def _failed(self, generation: int, error: Exception) -> None:
        if generation != self._generation:
            return
        self.refresh_button.setEnabled(True)
        self.status.setText(f"Could not count: {error}")

    def _show(self, generation: int, result: tuple[Figures, int | None], started: float) -> None:
        if generation != self._generation:
            return  # the user asked for something else meanwhile
        figures, marker = result
        self._marker = marker
        self.figures = figures
        self.refresh_button.setEnabled(True)
        elapsed = time.perf_counter() - started
        self.status.setText(f"{figures.period.label} · snapshot as of {figures.as_of:%d %b %Y} · "
                            f"updated {dt.datetime.now():%H:%M} ({elapsed:.1f} s)")
        self._fill(figures)
        log.debug("dashboard counted in %.0f ms", elapsed * 1000)
        self.loaded.emit(figures)

    def _fill(self, f: Figures) -> None:
        t = self.tiles
        t["open"].set_value(f"{f.open_total:,}")
        t["due_soon"].set_value(f"{f.due_soon:,}", f"open submissions due within {DUE_SOON_DAYS} days, overdue ones included")
        t["overdue"].set_value(f"{f.overdue:,}")
        t["unassigned"].set_value(f"{f.unassigned_open:,}")
        t["received"].set_value(f"{f.received:,}")
        t["decided"].set_value(f"{f.decided:,}", "issued or refused")
        t["median"].set_value(_days(f.median_days), "receipt to approval, issued in the period")
        t["p90"].set_value(_days(f.p90_days), "nine in ten issued within this many days")
        t["conditions_due"].set_value(f"{f.conditions_due:,}", "unresolved conditions of issued letters due "
                                                               f"within {DUE_SOON_DAYS} days")
        t["conditions_overdue"].set_value(f"{f.conditions_overdue:,}", "unresolved conditions past their due date")
        bar = theme.colour("bar")
        self.charts["status"].show_bars(
            [c.label for c in f.by_status],
            [("Submissions", [c.value for c in f.by_status], bar, [ChartPick("status", c.key) for c in f.by_status])])
        decisions = [c for c in f.decisions if c.value or c.key != "UNKNOWN"]
        self.charts["decisions"].show_bars(
            [c.label for c in decisions],
            [("Decisions", [c.value for c in decisions], bar, [ChartPick("decisions", c.key) for c in decisions])])
        loads = f.workload
        self.charts["workload"].show_bars(
            [w.name for w in loads],
            [("Overdue", [w.overdue for w in loads], theme.colour("overdue"),
              [ChartPick("workload", str(w.user_id), "overdue") for w in loads]),
             ("Not overdue", [w.on_time for w in loads], theme.colour("accent"),
              [ChartPick("workload", str(w.user_id), "on_time") for w in loads])],
            stacked=True, legend=True)
        self.charts["intake"].show_bars(
            [w.label for w in f.intake],
            [("Received", [w.count for w in f.intake], bar, [ChartPick("intake", w.week_start.isoformat())
                                                            for w in f.intake])], horizontal=False)
        self.charts["conditions"].show_bars(
            [c.label for c in f.conditions_by_status],
            [("Conditions", [c.value for c in f.conditions_by_status], bar,
              [ChartPick("conditions", c.key) for c in f.conditions_by_status])])
        rows = f.findings
        self.charts["findings"].show_bars(
            [r.label for r in rows],
            [(severity.value, [r.by_severity[i] for r in rows], colour,
              [ChartPick("findings", r.key, severity.value) for r in rows])
             for i, (severity, colour) in enumerate(zip(Severity, theme.severity_colours(), strict=True))],
            stacked=True, legend=True, labels=False)

    def _restyle(self) -> None:
        self.setStyleSheet(_tile_sheet())
        if self.figures is not None:
            self._fill(self.figures)  # bar colours are per palette
        for card in self.charts.values():
            card.restyle()

    def _check_for_changes(self) -> None:
        if self._change_marker is None or not self.isVisible():
            return
        marker = self._change_marker

        def changed(value: int) -> None:
            if self._marker is not None and value != self._marker:
                self.refresh()

        self._run(marker, on_done=changed, on_error=lambda _e: None)

    # -- opening the queue -------------------------------------------------------------------
    def _open(self, pick: ChartPick | None) -> None:
        if pick is None:
            return
        link: QueueLink = queue_link(pick)
        self.filter_requested.emit(link)

    # -- window ----------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        if self.figures is None:
            self.refresh()
        else:
            self._check_for_changes()  # shown again: recount if anything changed while it was hidden
        self._poll.start()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._poll.stop()
        super().closeEvent(event)


def _tile_sheet() -> str:
    accent, muted = theme.colour("accent").name(), theme.colour("muted").name()
    return (f"QLabel#tileValue {{ color: {accent}; }} QLabel#tileCaption {{ color: {muted}; }}"
            "QPushButton#dashboardFigure { border: 1px solid palette(mid); border-radius: 3px; }")
