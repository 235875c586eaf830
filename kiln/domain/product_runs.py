"""Product changes: from a time on, an equipment (or each equipment of a line) makes a product,
with the ideal cycle time (PRI) it has there, changeable over time (domain.md 1.5 step 5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiln.errors import BadInput

MAX_PRODUCT_CHARS = 64


@dataclass(frozen=True, slots=True)
class ProductChange:
    """From start_ms on the equipment makes product, ideally in ideal_cycle_s a unit.

    ideal_cycle_s None: the product's last known cycle on that equipment (else unknown; Kiln
    never invents one). A second change of the same equipment at the same start_ms replaces it.
    """

    equipment: int
    start_ms: int
    product: str
    ideal_cycle_s: float | None
    enterprise_id: int
    line_id: int | None = None
    recorded_ms: int = 0
    recorded_by: str = ""


def check_product(product: str, *, where: str) -> str:
    """A product (part number or recipe) name: printable, 1-64 characters.

    >>> check_product("door-lh 7", where="product")
    'door-lh 7'
    """
    text = product.strip()
    if not text or len(text) > MAX_PRODUCT_CHARS or not text.isprintable():
        raise BadInput(
            f"{product!r} is not a product name (1-{MAX_PRODUCT_CHARS} printable characters)",
            where=where,
        )
    return text


def check_cycle(seconds: float | None, *, where: str) -> float | None:
    """An ideal cycle in seconds, or None; it must be positive and finite.

    >>> check_cycle(6, where="ideal_cycle_s")
    6.0
    """
    if seconds is None:
        return None
    if not (math.isfinite(seconds) and 0 < seconds <= 86_400):
        raise BadInput(f"{seconds} s is not an ideal cycle (0 < s <= 86400)", where=where)
    return float(seconds)
