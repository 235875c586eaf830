"""InfluxDB-compatible writes: POST /write (v1), POST /api/v2/write (v2), GET|HEAD /ping.

Clients and agents that speak InfluxDB (Telegraf, the influxdb-client libraries, Node-RED,
gateways) write line protocol to Kiln unchanged; `kiln.ingest.line_protocol` holds the mapping
rule. What differs from InfluxDB, on purpose:

* the token is a Kiln token (a device's, or an enterprise user's with the ingest permission),
  sent as ``Authorization: Token <token>`` or ``Bearer <token>``; v1 clients may also send it
  as the password: HTTP basic auth, or the ``p`` query parameter (``u`` is ignored);
* ``db``, ``rp``, ``org``, ``orgID`` and ``bucket`` are accepted and ignored: the enterprise
  is the token's, and everything lands in Kiln's one store;
* a body with any problem stores nothing (InfluxDB OSS 2 does the same for a malformed line):
  400 ``{"code": "invalid"}`` when a line cannot be read, 422 ``{"code": "unprocessable
  entity"}`` when it reads but names unknown equipment, signals or bad values; the message
  names the first line and column, ``rejects`` lists up to 100; the body goes to the dead
  letters (adapter ``lineproto``);
* an empty body answers 204 and stores nothing.

Bodies may be gzip-compressed (``Content-Encoding: gzip``); the decompressed size is bounded by
server.max_body_bytes like a plain body, so a zip bomb is refused with 413.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import math
import zlib
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

import kiln
from kiln.api.deps import RuntimeDep, now_s
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.dead_letters import DeadLetter
from kiln.errors import KilnError, Unauthorized
from kiln.ingest import line_protocol
from kiln.ingest.line_protocol_values import PRECISIONS, V2_PRECISIONS
from kiln.runtime import Runtime

router = APIRouter(tags=["InfluxDB-compatible write"])
ADAPTER = "lineproto"
V1_SOURCE, V2_SOURCE = "POST /write", "POST /api/v2/write"
THREAD_BYTES = 64 * 1024  # bodies larger than this decode off the event loop
COMPATIBLE_VERSION = "2.7.0"  # what clients read from X-Influxdb-Version to pick their API

LINES = {
    "text/plain": {
        "schema": {"type": "string"},
        "example": "press-1,site=nanhai-1 tonnage=8120.5,strokes=1203i 1764000000000000000\n",
    }
}
ANSWERS: dict[int | str, dict[str, object]] = {
    204: {"description": "every line stored"},
    400: {"description": "a line cannot be read, or a bad parameter; nothing stored"},
    401: {"description": "no valid token"},
    403: {"description": "the token may not ingest"},
    413: {"description": "the body (or its decompressed form) is too large"},
    415: {"description": "a Content-Encoding other than gzip or identity"},
    422: {"description": "lines name unknown equipment or signals, or bad values; nothing stored"},
    429: {"description": "rate limited; see Retry-After"},
}


class _Refused(Exception):
    """An answer in InfluxDB's error shape."""

    def __init__(
        self, status: int, code: str, message: str, *, dead_letter: bool = False, retry_s: int = 0
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.dead_letter, self.retry_s = dead_letter, retry_s


def _answer(
    err: _Refused, *, v1: bool, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    body: dict[str, object] = {"code": err.code, "message": err.message, **extra}
    if v1:
        body["error"] = err.message  # InfluxDB 1.x clients read this key
    return JSONResponse(body, status_code=err.status, headers=headers)


def _token(request: Request, *, v1: bool) -> str:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, credential = header.partition(" ")
        scheme, credential = scheme.lower(), credential.strip()
        if scheme in ("token", "bearer") and credential:
            return credential
        if scheme == "basic" and credential:
            try:
                _, _, password = base64.b64decode(credential).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                password = ""
            if password:
                return password
        raise Unauthorized("use 'Authorization: Token <token>'", where="authorization")
    password = request.query_params.get("p", "") if v1 else ""
    if password:
        return password
    raise Unauthorized("send a token: 'Authorization: Token <token>'", where="authorization")


def _caller(request: Request, rt: Runtime, *, v1: bool) -> tuple[Principal, int]:
    """The authenticated caller and its enterprise id, or a refusal."""
    who = rt.security.from_token(_token(request, v1=v1))
    if not who.may(Permission.INGEST):
        raise _Refused(403, "forbidden", f"a {who.role.value} may not write")
    if who.enterprise_id is None or who.enterprise_id not in rt.catalog.enterprises:
        raise _Refused(403, "forbidden", "the caller has no enterprise to write for")
    wait = rt.ingest_limit.take(
        f"token:{who.token_id}" if who.token_id else f"user:{who.user_id}", now_s=now_s()
    )
    if wait:
        raise _Refused(
            429,
            "too many requests",
            "ingest rate limit reached; slow down or batch more",
            retry_s=max(1, math.ceil(wait)),
        )
    return who, who.enterprise_id


async def _read(request: Request, limit: int) -> bytes:
    """The body, decompressed; refused past ``limit`` bytes before or after decompression."""
    too_large = _Refused(413, "request too large", f"the body is larger than {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise _Refused(415, "unsupported media type", f"Content-Encoding {encoding!r}: use gzip")
    return _gunzip(body, limit)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip (members one after another), stopping as soon as ``limit`` is passed."""
    out = bytearray()
    while data:
        unzip = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            out += unzip.decompress(data, limit + 1 - len(out))
        except zlib.error as err:
            raise _Refused(
                400, "invalid", f"the gzip body is corrupt: {err}", dead_letter=True
            ) from err
        if len(out) > limit or unzip.unconsumed_tail:
            raise _Refused(
                413,
                "request too large",
                f"the body decompresses to more than {limit} bytes",
                dead_letter=True,
            )
        if not unzip.eof:
            raise _Refused(400, "invalid", "the gzip body is truncated", dead_letter=True)
        data = unzip.unused_data
    return bytes(out)


async def _write(request: Request, rt: Runtime, precision: str, *, v1: bool) -> Response:
    source = V1_SOURCE if v1 else V2_SOURCE
    try:
        who, enterprise_id = _caller(request, rt, v1=v1)
    except KilnError as err:  # unknown, revoked or expired token
        return _answer(
            _Refused(401, "unauthorized", err.what),
            v1=v1,
            headers={"WWW-Authenticate": 'Token realm="kiln"'},
        )
    except _Refused as err:
        retry = {"Retry-After": str(err.retry_s)} if err.retry_s else None
        return _answer(err, v1=v1, headers=retry)
    allowed = PRECISIONS if v1 else V2_PRECISIONS
    if precision not in allowed:
        why = f"precision {precision!r}: use one of {', '.join(allowed)}"
        return _answer(_Refused(400, "invalid", why), v1=v1)
    body = b""
    try:
        body = await _read(request, rt.settings.server.max_body_bytes)
        decode = functools.partial(
            line_protocol.decode,
            body,
            rt.catalog,
            enterprise_id=enterprise_id,
            now_ms=rt.clock.now_ms(),
            precision=precision,
            equipment=who.equipment,
            max_values=rt.settings.security.max_batch_items,
        )
        # Arrow's kernels release the GIL: a big body decoded in a worker thread lets the loop
        # read the next request meanwhile, and two bodies decode on two cores.
        decoded = await asyncio.to_thread(decode) if len(body) > THREAD_BYTES else decode()
    except line_protocol.TooManyValues as err:
        refused = _Refused(
            413, "request too large", f"{err}; send smaller batches", dead_letter=True
        )
        return _refuse(rt, refused, source, body, enterprise_id, v1=v1)
    except _Refused as err:
        return _refuse(rt, err, source, body, enterprise_id, v1=v1)
    if decoded.rejects:
        return _rejected(rt, decoded, source, body, enterprise_id, v1=v1)
    if len(decoded.bundle):
        await rt.writer.submit(decoded.bundle)
    return Response(status_code=204)


def _refuse(
    rt: Runtime, err: _Refused, source: str, body: bytes, enterprise_id: int, *, v1: bool
) -> JSONResponse:
    if err.dead_letter or err.status == 413:
        letter = DeadLetter(rt.clock.now_ms(), ADAPTER, source, err.message, body, enterprise_id)
        rt.sink.dead_letter(letter)
    return _answer(err, v1=v1)


def _rejected(
    rt: Runtime,
    decoded: line_protocol.LineDecoded,
    source: str,
    body: bytes,
    enterprise_id: int,
    *,
    v1: bool,
) -> JSONResponse:
    first = decoded.rejects[0]
    message = (
        f"{first.where()}: {first.reason} ({decoded.refused} problem(s) in "
        f"{decoded.points} line(s); nothing was stored)"
    )
    rt.sink.dead_letter(
        DeadLetter(rt.clock.now_ms(), ADAPTER, source, message, body, enterprise_id)
    )
    if decoded.syntax:
        err = _Refused(400, "invalid", message)
    else:
        err = _Refused(422, "unprocessable entity", message)
    return _answer(
        err,
        v1=v1,
        line=first.line,
        column=first.column,
        rejects=[r.as_dict() for r in decoded.rejects],
    )


@router.post(
    "/api/v2/write",
    summary="Write line protocol (InfluxDB 2 API)",
    status_code=204,
    openapi_extra={"requestBody": {"required": True, "content": LINES}},
    responses=ANSWERS,
)
async def write_v2(
    request: Request,
    rt: RuntimeDep,
    precision: Annotated[str, Query(description="timestamp unit: ns (default), us, ms, s")] = "ns",
    org: Annotated[str | None, Query(description="accepted, ignored")] = None,
    bucket: Annotated[str | None, Query(description="accepted, ignored")] = None,
) -> Response:
    """Store every line of the body, or none (see the module's rules)."""
    return await _write(request, rt, precision, v1=False)


@router.post(
    "/write",
    summary="Write line protocol (InfluxDB 1 API)",
    status_code=204,
    openapi_extra={"requestBody": {"required": True, "content": LINES}},
    responses=ANSWERS,
)
async def write_v1(
    request: Request,
    rt: RuntimeDep,
    precision: Annotated[
        str, Query(description="timestamp unit: n or ns (default), u or us, ms, s, m, h")
    ] = "ns",
    db: Annotated[str | None, Query(description="accepted, ignored")] = None,
) -> Response:
    """Store every line of the body, or none (see the module's rules)."""
    return await _write(request, rt, precision, v1=True)


def _pong() -> Response:
    return Response(
        status_code=204,
        headers={
            "X-Influxdb-Version": COMPATIBLE_VERSION,
            "X-Influxdb-Build": f"Kiln {kiln.__version__}",
        },
    )


PING_ANSWERS: dict[int | str, dict[str, object]] = {
    204: {"description": "up; X-Influxdb-Version says which InfluxDB API Kiln speaks"}
}


@router.get("/ping", summary="Health check of InfluxDB clients", responses=PING_ANSWERS)
async def ping() -> Response:
    """Answer 204 with the InfluxDB version clients expect, so their health checks pass."""
    return _pong()


@router.head("/ping", summary="Health check of InfluxDB clients (HEAD)", responses=PING_ANSWERS)
async def ping_head() -> Response:
    """The same as GET /ping."""
    return _pong()
