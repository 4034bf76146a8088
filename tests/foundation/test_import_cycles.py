"""No import cycle inside desktop_app: a cycle is two modules that can only be understood
(and loaded) together. Imports inside functions and under TYPE_CHECKING count too."""

from __future__ import annotations

import grimp

def cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(module)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.one")
    graph.add_import(importer="a.three", imported="a.one")
    assert cycles(graph) == [frozenset({"a.one", "a.two"})]


def test_there_is_no_import_cycle_inside_desktop_app() -> None:
    graph = grimp.build_graph("desktop_app", include_external_packages=False)
    found = cycles(graph)
    assert [sorted(c) for c in found] == []
    for named in (("desktop_app.ui.review.findings", "desktop_app.ui.review.workflow", "desktop_app.ui.review.undo"),
                  ("desktop_app.ui.queue.model", "desktop_app.ui.threads"),
                  ("desktop_app.letters._layout", "desktop_app.letters.render")):
        assert not any(len(set(named) & c) > 1 for c in found), named


def test_the_main_window_module_only_composes() -> None:
    """The window's own module wires its parts; behaviour lives in the mixins and features beside it."""
    from pathlib import Path

    window = Path(__file__).resolve().parents[2] / "desktop_app" / "ui" / "mainwindow" / "window.py"
    assert len(window.read_text(encoding="utf-8").splitlines()) <= 300
