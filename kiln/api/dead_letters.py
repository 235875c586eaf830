"""Dead letters: what the ingest adapters refused, with the reason and the payload's first bytes."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from kiln.api.deps import AccessDep
from kiln.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["ingest"], responses=ERROR_RESPONSES)


def _rows(table: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        raw = row.pop("payload", None)
        if raw is not None:
            # Payloads are bytes: show them as text where they are text, and always as hex.
            row["payload_text"] = raw.decode("utf-8", errors="replace")
            row["payload_hex"] = raw.hex()
    return rows


@router.get(
    "/dead-letters",
    summary="Refused messages, newest first",
    responses={
        200: {"description": "a list of refused messages", "content": {"application/json": {}}}
    },
)
async def dead_letters(
    access: AccessDep,
    adapter: Annotated[str | None, Query(max_length=200, description="e.g. mqtt:plant")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=0, description="page: ids below this")] = None,
) -> Response:
    """Each refused message: id, ts_ms, enterprise_id, adapter, source (topic, node, file:line),
    reason, and its first 256 bytes as text and hex. An enterprise sees its own; the city
    admin sees those that named no enterprise."""
    table = access.dead_letters(adapter=adapter, limit=limit, before_id=before_id)
    return Response(orjson.dumps(_rows(table)), media_type="application/json")


@router.get(
    "/dead-letters/counts",
    summary="Refusals per adapter and source",
    responses={200: {"description": "counts per source", "content": {"application/json": {}}}},
)
async def dead_letter_counts(access: AccessDep) -> Response:
    """Per (adapter, source): how many were refused since the first, when last, and why."""
    return Response(
        orjson.dumps(access.dead_letter_counts().to_pylist()), media_type="application/json"
    )
