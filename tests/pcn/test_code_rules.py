"""House rules that keep the code in one shape (issue 14), checked over every URL the resolver knows:
a function view is named after its URL (`<url name>_view`) and is short (≤ 25 lines, not counting its
decorators and docstring: the work belongs in services, querysets and forms)."""

import ast
import inspect
import textwrap
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

OUR_APPS = ("pcn", "caseload", "careplans", "mdt", "recall", "reporting", "overview", "demo")
MAX_VIEW_LINES = 25


def our_function_views() -> Iterator[tuple[str, str, object]]:
    """(namespaced URL name, URL name, view function) for every function view of ours."""

    def walk(patterns, namespace: str = "") -> Iterator[tuple[str, str, object]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern) and entry.name:
                view = inspect.unwrap(entry.callback)
                if hasattr(entry.callback, "view_class") or not view.__module__.startswith(OUR_APPS):
                    continue
                yield f"{namespace}{entry.name}", entry.name, view

    yield from walk(get_resolver().url_patterns)


def body_lines(view: object) -> int:
    """Lines from `def` to the end, less decorators and the docstring."""
    source = textwrap.dedent(inspect.getsource(view))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    lines = function.end_lineno - function.lineno + 1
    first = function.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_the_resolver_has_function_views_to_check():
    assert len(list(our_function_views())) > 50


def test_every_function_view_is_named_after_its_url():
    misnamed = [
        f"{full}: {view.__module__}.{view.__name__}"
        for full, name, view in our_function_views()
        if view.__name__ != f"{name}_view"
    ]
    assert misnamed == []


def test_no_function_view_is_longer_than_25_lines():
    long = sorted(
        f"{view.__module__}.{view.__name__}: {lines} lines"
        for _, _, view in our_function_views()
        if (lines := body_lines(view)) > MAX_VIEW_LINES
    )
    assert long == []
