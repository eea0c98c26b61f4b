"""Pagination whose count stops early, so a list over 100,000 rows never counts them all."""

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 rows (`SELECT COUNT(*) FROM (… LIMIT cap + 1)`).

    Past the cap the page says "more than 10,000" and offers pages up to the cap: nobody pages
    through ten thousand people; they narrow the filters.
    """

    cap = 10_000
    object_list: QuerySet[Any]  # a QuerySet, not any sequence: the count is a capped subquery

    def __init__(
        self,
        object_list: QuerySet[Any],
        per_page: int,
        *args: Any,
        known_count: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.known_count = known_count  # a count the page has already made (its figures): no query

    @cached_property
    def count(self) -> int:
        if self.known_count is not None:
            return min(self.known_count, self.cap + 1)
        # Count ids only: no annotations, no ORDER BY in the capped subquery.
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


def query_without(request: HttpRequest, *keys: str) -> str:
    """The request's query string less `keys`: the filters to carry into page links and downloads."""
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()
