"""How the apps name their URLs: after their views, so that a URL name and its view never drift apart."""

from collections.abc import Callable

from django.http import HttpResponse
from django.urls import URLPattern, path


def route(pattern: str, view: Callable[..., HttpResponse]) -> URLPattern:
    """`path(pattern, view)` named after the view without its `_view` ending: `patient_list_view` → "patient_list"."""
    return path(pattern, view, name=view.__name__.removesuffix("_view"))
