"""POST /api/v1/ingest: Kiln's JSON batch (see kiln.ingest.http_json for the format)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kiln.api.deps import PrincipalDep, RuntimeDep, client_address, now_s
from kiln.api.errors import ERROR_RESPONSES
from kiln.auth.roles import Permission
from kiln.domain.dead_letters import DeadLetter
from kiln.errors import Forbidden, TooManyRequests
from kiln.ingest import http_json

router = APIRouter(prefix="/api/v1", tags=["ingest"], responses=ERROR_RESPONSES)
SOURCE = "POST /api/v1/ingest"

EXAMPLE = {
    "enterprise": "acme-auto",
    "batch_id": "gw7-000123",
    "points": [
        {
            "equipment": "press-2",
            "signal": "tonnage",
            "ts": [1764000000000, 1764000005000],
            "v": [8120.0, 8155.0],
        },
        {"equipment": "press-2", "signal": "lube_temp", "ts": 1764000000000, "v": 41.2},
    ],
    "states": [{"equipment": "press-2", "ts": 1764000000000, "state": "idle", "reason": "starved"}],
    "counts": [{"equipment": "press-2", "ts": 1764000000000, "good": 12, "scrap": 1}],
}
BODY_SCHEMA = {
    "type": "object",
    "required": ["enterprise"],
    "properties": {
        "enterprise": {"type": "string", "description": "the enterprise's slug"},
        "batch_id": {
            "type": "string",
            "description": "idempotency key: a resent batch is stored once",
        },
        "points": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["equipment", "signal", "ts", "v"],
                "properties": {
                    "equipment": {"type": "string"},
                    "signal": {"type": "string"},
                    "ts": {
                        "description": "UTC epoch ms, or a list of them",
                        "oneOf": [
                            {"type": "integer"},
                            {"type": "array", "items": {"type": "integer"}},
                        ],
                    },
                    "v": {
                        "description": "value, or a list as long as ts",
                        "oneOf": [
                            {"type": "number"},
                            {"type": "array", "items": {"type": "number"}},
                        ],
                    },
                },
            },
        },
        "states": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["equipment", "ts", "state"],
                "properties": {
                    "equipment": {"type": "string"},
                    "ts": {"type": "integer"},
                    "state": {
                        "type": "string",
                        "enum": [
                            "running",
                            "idle",
                            "setup",
                            "down_fault",
                            "planned_down",
                            "off_shift",
                            "unknown",
                        ],
                    },
                    "reason": {"type": ["string", "null"]},
                },
            },
        },
        "counts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["equipment", "ts"],
                "properties": {
                    "equipment": {"type": "string"},
                    "ts": {"type": "integer"},
                    "good": {"type": "integer", "minimum": 0},
                    "scrap": {"type": "integer", "minimum": 0},
                    "rework": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
    "example": EXAMPLE,
}


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "error": "BadInput",
            "message": f"the body is larger than {limit} bytes "
            "(server.max_body_bytes); send smaller batches",
            "where": "body",
        },
        status_code=413,
    )


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        # The standard parser also reads NaN and Infinity, which gateways do send: parse them
        # so the answer can name the item instead of refusing the whole body as syntax.
        return json.loads(body)


@router.post(
    "/ingest",
    summary="Ingest a batch of points, state changes and counts",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BODY_SCHEMA}}}
    },
    responses={
        200: {"description": 'stored: {"stored": rows, "duplicate": bool}'},
        400: {"description": "the body is not JSON"},
        413: {"description": "the body is larger than server.max_body_bytes"},
        422: {
            "description": "bad items, each named (section, index, field, reason); nothing stored"
        },
    },
)
async def ingest(request: Request, rt: RuntimeDep, who: PrincipalDep) -> Response:
    """Store the whole batch, or nothing of it and a list of every bad item.

    The batch belongs to the caller's enterprise; a device token limited to equipment may only
    send for those.
    """
    if not who.may(Permission.INGEST):
        raise Forbidden(f"a {who.role.value} may not ingest", where="role")
    wait = rt.ingest_limit.take(
        f"token:{who.token_id}" if who.token_id else f"user:{who.user_id}", now_s=now_s()
    )
    if wait:
        raise TooManyRequests(
            "ingest rate limit reached; slow down or batch more",
            where="authorization",
            retry_after_s=wait,
        )
    limit = rt.settings.server.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    body = await request.body()
    if len(body) > limit:
        return _too_large(limit)
    try:
        doc = _parse(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return JSONResponse(
            {"error": "BadInput", "message": f"the body is not JSON: {err}", "where": "body"},
            status_code=400,
        )
    own = rt.catalog.enterprises.get(who.enterprise_id or -1)
    if own is None:
        raise Forbidden("the caller has no enterprise to ingest for", where="authorization")
    if isinstance(doc, dict) and doc.get("enterprise", own.slug) != own.slug:
        rt.security.record(
            who,
            "ingest_refused",
            detail=f"claimed {doc.get('enterprise')!r}",
            address=client_address(request),
        )
        rt.sink.dead_letter(
            DeadLetter(
                rt.clock.now_ms(),
                "http",
                SOURCE,
                f"claims enterprise {doc.get('enterprise')!r}; the caller sends for {own.slug!r}",
                body,
                own.id,
            )
        )
        raise Forbidden(f"this caller sends for {own.slug!r} only", where="body: enterprise")
    decoded = http_json.decode(
        doc,
        rt.catalog,
        now_ms=rt.clock.now_ms(),
        enterprise=own.slug,
        equipment=who.equipment,
        max_items=rt.settings.security.max_batch_items,
    )
    if decoded.rejects:
        first = decoded.rejects[0]
        rt.sink.dead_letter(
            DeadLetter(
                rt.clock.now_ms(),
                "http",
                SOURCE,
                f"{len(decoded.rejects)} bad item(s), first {first.where()}: {first.reason}",
                body,
                own.id,
            )
        )
        return JSONResponse(
            {
                "error": "BadInput",
                "message": f"{len(decoded.rejects)} bad item(s); nothing was stored",
                "where": first.where(),
                "rejects": [r.as_dict() for r in decoded.rejects[:1000]],
            },
            status_code=422,
        )
    stored = await rt.writer.submit(decoded.bundle, batch_id=decoded.batch_id)
    duplicate = decoded.batch_id is not None and stored == 0
    return Response(
        orjson.dumps({"stored": stored, "duplicate": duplicate}), media_type="application/json"
    )
