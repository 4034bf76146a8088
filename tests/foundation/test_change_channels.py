"""One change channel in the ui: a `Changes` value on the bus (ui.operations), nothing else.

A view refreshes itself only in its own handlers: its constructor (the first read), the
handler it gives `follow_changes`, the poll for changes made elsewhere, being shown again,
or navigation that must find a row. Nobody calls a view's `reload()` after saving a change,
and no view has a `changed(int)`-like signal of its own for it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[2] / "desktop_app" / "ui"
REFRESHES = {"reload", "refresh", "request_reload"}
#: Where a view may refresh itself, besides the handlers it hands to `follow_changes`.
OWN_HANDLERS = {
    "__init__",  # the first read
    "_check_for_changes",  # the poll for changes committed elsewhere (another workstation)
    "showEvent",  # shown again
    "select_submission",  # navigation: the row must be in the model to be selected
}
#: The queue model's own machinery (ui.queue.model): it is the thing being reloaded.
MODEL = UI / "queue" / "model.py"


def _follow_handlers(tree: ast.AST) -> set[str]:
    """Names of methods passed to `follow_changes(view, self.<name>)`."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "follow_changes" and len(node.args) == 2:
            handler = node.args[1]
            if isinstance(handler, ast.Attribute):
                names.add(handler.attr)
    return names


def refresh_calls_outside_handlers(root: Path = UI) -> list[str]:
    """`<x>.reload()` / `.refresh()` calls in functions that are not a view's own refresh handler."""
    found = []
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(root.rglob("*.py"))}
    handlers = set().union(*(_follow_handlers(tree) for tree in trees.values()))  # a mixin's handler is wired elsewhere
    for path, tree in trees.items():
        if path == MODEL:
            continue
        allowed = OWN_HANDLERS | handlers | REFRESHES

        def walk(node: ast.AST, outer: str | None, file: Path = path, allowed: set[str] = allowed) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    walk(child, outer or child.name)  # a nested function counts as its outermost method
                    continue
                if isinstance(child, ast.ClassDef):
                    walk(child, None)
                    continue
                if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                        and child.func.attr in REFRESHES and outer not in allowed):
                    found.append(f"{file.relative_to(root.parent.parent)}:{child.lineno} in {outer}: "
                                 f"{ast.unparse(child.func)}()")
                walk(child, outer)

        walk(tree, None)
    return found


def test_no_view_is_reloaded_after_a_change_outside_its_own_handlers() -> None:
    assert refresh_calls_outside_handlers() == []


def test_the_scan_finds_a_reload_after_a_save(tmp_path: Path) -> None:
    ui = tmp_path / "desktop_app" / "ui"
    ui.mkdir(parents=True)
    (ui / "view.py").write_text("\n".join([
        "class View:",
        "    def __init__(self):",
        "        self.reload()",
        "        follow_changes(self, self._changes)",
        "    def _changes(self, changes):",
        "        self.reload()",
        "    def save(self):",
        "        def done(_r):",
        "            self.window.reload()",
        "        run(done)",
    ]), encoding="utf-8")
    assert refresh_calls_outside_handlers(ui) == ["desktop_app/ui/view.py:9 in save: self.window.reload()"]


def test_no_view_announces_changes_with_a_signal_of_its_own() -> None:
    """The old channel: `changed = Signal(int)` (or `carried`) on a view, relayed by the window."""
    offenders = []
    for path in sorted(UI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", None) == "Signal"
                    and any(isinstance(t, ast.Name) and (t.id == "changed" or t.id == "carried") for t in node.targets)
                    and [ast.unparse(a) for a in node.value.args] == ["int"]):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_changes_say_what_changed_as_an_enum() -> None:
    from desktop_app.ui.operations import ChangeKind, Changes

    assert Changes(7, ChangeKind.FINDING).what is ChangeKind.FINDING
    assert Changes(7, "finding").what is ChangeKind.FINDING  # the value is turned into the kind
    with pytest.raises(ValueError, match="findings"):
        Changes(7, "findings")  # a misspelt kind fails where it is made, not in a view that never refreshes
    assert Changes(None, ChangeKind.ASSIGNMENT).touches_submissions
    assert not Changes(None, ChangeKind.USERS).touches_submissions


def test_busy_and_cancel_are_written_once() -> None:
    """Dialogs that run work use ui.operations.dialog: no busy bar, progress dialog or cancel token of their own."""
    own = ("QProgressBar(", "QProgressDialog(", "CancelToken(", "self._busy")
    offenders = [f"{path.relative_to(UI)}: {needle}"
                 for path in sorted(UI.rglob("*.py")) if "operations" not in path.parts and path.name != "threads.py"
                 for needle in own if needle in path.read_text(encoding="utf-8")]
    assert offenders == []


#: What the ui may run on a worker without an Operation: reads only (no audit row, no file written).
READS_OFF_THE_GUI_THREAD = {
    "rows", "verify", "preview", "check_printed_letter", "counts", "change_marker", "summary", "sample",
    "transcript", "compare", "work", "fn", "import_review_modules", "preload", "load_record_services",
    # `work`, `import_review_modules`, `preload`, `load_record_services`: the review half's imports;
    # `fn`: the queue's page reads
}


def test_every_write_goes_through_an_operation() -> None:
    """`run_task` directly is for reads; a save, carry-over or audited export is an `Operation`."""
    called = []
    for path in sorted(UI.rglob("*.py")):
        if "operations" in path.parts or path.name == "threads.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_task" and node.args:
                target = node.args[0].body if isinstance(node.args[0], ast.Lambda) else node.args[0]
                if isinstance(target, ast.Call):
                    target = target.func
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "?")
                called.append((f"{path.relative_to(UI)}:{node.lineno}", name))
    assert called, "the scan found no run_task call at all"
    assert [site for site, name in called if name not in READS_OFF_THE_GUI_THREAD] == []
