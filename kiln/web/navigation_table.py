"""The enterprise table of the city, district and industry pages: sorted and paged on the
server, so a city of 10,000 enterprises sends one page of rows, never all of them.

The sorted orders are kept per catalogue version (one sort per column, on first use); a page
request then filters that order to what the viewer may see and slices one page of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlencode

from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.web.navigation import Registry

PAGE_SIZE = 50
SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda r: (r["name"].lower(), r["id"]),
    "district": lambda r: (r["district"]["name_en"], r["name"].lower(), r["id"]),
    "industry": lambda r: (r["industry"]["code"], r["name"].lower(), r["id"]),
    "equipment": lambda r: (r["equipment"], r["name"].lower(), r["id"]),
}
_orders: dict[tuple[int, str], list[int]] = {}
_orders_lock = threading.Lock()


def sorted_ids(reg: Registry, sort: str) -> list[int]:
    """Every enterprise id in the order of one column, computed once per registry."""
    key = (id(reg), sort)
    found = _orders.get(key)
    if found is None:
        found = [r["id"] for r in sorted(reg.rows.values(), key=SORTS[sort])]
        with _orders_lock:
            stale = [k for k in _orders if k[0] != id(reg)]
            for k in stale:  # a new catalogue: the old registry's orders go
                del _orders[k]
            _orders[key] = found
    return found


def enterprise_table(
    reg: Registry,
    listed: Collection[int],
    who: Principal,
    *,
    sort: str = "name",
    order: str = "asc",
    page: int = 1,
    base: str = "/",
) -> dict[str, Any]:
    """One page of the listed enterprises' rows, sorted by a column, with links to the other
    pages and to each column's sort; a row links to its enterprise only for its own users.

    Unknown sort columns, orders and pages fall back to name, ascending, and the nearest page.
    """
    sort = sort if sort in SORTS else "name"
    order = order if order in ("asc", "desc") else "asc"
    shown = set(listed)
    ids = [i for i in sorted_ids(reg, sort) if i in shown]
    if order == "desc":
        ids.reverse()
    pages = max(1, -(-len(ids) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    first = (page - 1) * PAGE_SIZE
    own = who.may(Permission.READ_OWN_DATA)
    rows = [{**reg.rows[i], "link": own and who.owns(i)} for i in ids[first : first + PAGE_SIZE]]

    def href(**changes: Any) -> str:
        query = {"sort": sort, "order": order, "page": page, **changes}
        return f"{base}?{urlencode(query)}#enterprises"

    return {
        "rows": rows,
        "total": len(ids),
        "first": first + 1 if ids else 0,
        "last": first + len(rows),
        "page": page,
        "pages": pages,
        "sort": sort,
        "order": order,
        "prev": href(page=page - 1) if page > 1 else None,
        "next": href(page=page + 1) if page < pages else None,
        "sort_links": {
            col: href(sort=col, order="desc" if col == sort and order == "asc" else "asc", page=1)
            for col in SORTS
        },
    }


def page_number(text: str | None) -> int:
    """A page number from the query string; 1 for anything that is not a positive number.

    >>> page_number("3"), page_number("x"), page_number(None)
    (3, 1, 1)
    """
    return int(text) if text and text.isdigit() and 0 < len(text) < 7 else 1
