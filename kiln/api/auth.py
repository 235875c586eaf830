"""Sign-in, the caller, bearer tokens, users and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from kiln.api.deps import PrincipalDep, RuntimeDep, client_address
from kiln.api.errors import ERROR_RESPONSES
from kiln.auth.accounts import TokenRow, UserRow
from kiln.auth.broker import broker_username
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission, Role
from kiln.domain.indicators import SHAREABLE_INDICATORS
from kiln.errors import BadInput, Forbidden, NotFound
from kiln.runtime import Runtime
from kiln.sessions import clear_session_cookie, set_session_cookie

router = APIRouter(prefix="/api/v1", tags=["security"], responses=ERROR_RESPONSES)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignIn(_Body):
    """A user name and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class NewToken(_Body):
    """A token to create: named; a device token may be limited to equipment ids."""

    name: str = Field(min_length=1, max_length=100)
    role: Role | None = Field(None, description="default: the caller's own role")
    equipment: list[int] | None = Field(None, max_length=10_000)
    expires_ms: int | None = Field(None, ge=0, le=32_503_680_000_000)


class NewUser(_Body):
    """A user to create."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: Role
    enterprise: str | None = Field(None, description="enterprise slug; none for city roles")


def me_json(rt: Runtime, who: Principal) -> dict[str, Any]:
    """The caller as JSON."""
    ent = rt.catalog.enterprises.get(who.enterprise_id or -1)
    return {
        "user_id": who.user_id,
        "name": who.name,
        "role": who.role.value,
        "enterprise": ent.slug if ent else None,
        "csrf": who.csrf,
    }


def token_json(rt: Runtime, t: TokenRow) -> dict[str, Any]:
    """A token as JSON (never the secret)."""
    ent = rt.catalog.enterprises.get(t.enterprise_id or -1)
    return {
        "id": t.id,
        "name": t.name,
        "role": t.role.value,
        "enterprise": ent.slug if ent else None,
        "equipment": list(t.equipment) if t.equipment is not None else None,
        "created_ms": t.created_ms,
        "expires_ms": t.expires_ms,
        "revoked_ms": t.revoked_ms,
        "last_used_ms": t.last_used_ms,
        # A device token is also the gateway's MQTT login (see `kiln broker config`).
        "mqtt_username": broker_username(ent.slug, t.id) if ent and t.role is Role.DEVICE else None,
    }


def user_json(rt: Runtime, u: UserRow) -> dict[str, Any]:
    """A user as JSON (never the hash)."""
    ent = rt.catalog.enterprises.get(u.enterprise_id or -1)
    return {
        "id": u.id,
        "username": u.username,
        "role": u.role.value,
        "enterprise": ent.slug if ent else None,
        "disabled": u.disabled,
    }


@router.post(
    "/session",
    summary="Sign in (starts a web session cookie)",
    responses={
        401: {"description": "wrong user name or password"},
        429: {"description": "too many attempts; see Retry-After"},
    },
)
async def sign_in(body: SignIn, request: Request, rt: RuntimeDep) -> Response:
    """Check the password and set a new HttpOnly session cookie; answers the CSRF token that
    every state-changing request of this session must send as X-CSRF-Token."""
    session_id, who = rt.security.sign_in(
        body.username, body.password, address=client_address(request)
    )
    resp = JSONResponse(me_json(rt, who))
    set_session_cookie(resp, rt, session_id)
    return resp


@router.delete("/session", summary="Sign out", status_code=204)
async def sign_out(request: Request, rt: RuntimeDep, who: PrincipalDep) -> Response:
    """End the session and clear its cookie."""
    rt.security.sign_out(who, address=client_address(request))
    resp = Response(status_code=204)
    clear_session_cookie(resp)
    return resp


@router.get("/me", summary="The caller")
async def me(rt: RuntimeDep, who: PrincipalDep) -> dict[str, Any]:
    """Who the caller is: name, role, enterprise."""
    return me_json(rt, who)


@router.get("/tokens", summary="The caller's tokens (and its enterprise's device tokens)")
async def tokens(rt: RuntimeDep, who: PrincipalDep) -> list[dict[str, Any]]:
    """Tokens the caller may see and revoke; never their secrets."""
    return [token_json(rt, t) for t in rt.security.visible_tokens(who)]


@router.post("/tokens", summary="Create a bearer token", status_code=201)
async def create_token(body: NewToken, rt: RuntimeDep, who: PrincipalDep) -> dict[str, Any]:
    """A new token; its secret is in this answer only. Device tokens (role "device") belong to
    the caller's enterprise and may be limited to some of its equipment."""
    if who.role is Role.DEVICE:
        raise Forbidden("a device token may not create tokens", where="authorization")
    if body.equipment is not None:
        for i, eid in enumerate(body.equipment):
            q = rt.catalog.equipment.get(eid)
            if q is None or not who.owns(q.enterprise_id):
                raise BadInput(f"no equipment {eid} in your enterprise", where=f"equipment[{i}]")
    token, row = rt.security.create_token(
        who, body.name, role=body.role, equipment=body.equipment, expires_ms=body.expires_ms
    )
    return {"token": token, **token_json(rt, row)}


@router.delete("/tokens/{token_id}", summary="Revoke a token", status_code=204)
async def revoke_token(token_id: int, rt: RuntimeDep, who: PrincipalDep) -> Response:
    """Revoke a token now: its next request is refused."""
    rt.security.revoke_token(who, token_id)
    return Response(status_code=204)


@router.get("/users", summary="Users the caller manages")
async def users(rt: RuntimeDep, who: PrincipalDep) -> list[dict[str, Any]]:
    """Every user for the city admin; the enterprise's users for an enterprise admin."""
    if who.may(Permission.MANAGE_ENTERPRISES):
        return [user_json(rt, u) for u in rt.security.accounts.users(every=True)]
    if not who.may(Permission.MANAGE_OWN_USERS):
        raise Forbidden(f"a {who.role.value} does not manage users", where="role")
    return [user_json(rt, u) for u in rt.security.accounts.users(who.enterprise_id)]


@router.post("/users", summary="Create a user", status_code=201)
async def create_user(body: NewUser, rt: RuntimeDep, who: PrincipalDep) -> dict[str, Any]:
    """A city admin creates any user; an enterprise admin, users of its own enterprise."""
    if not (who.may(Permission.MANAGE_ENTERPRISES) or who.may(Permission.MANAGE_OWN_USERS)):
        raise Forbidden(f"a {who.role.value} does not manage users", where="role")
    eid = None
    if body.enterprise is not None:
        eid = rt.catalog.enterprise_by_slug.get(body.enterprise)
        if eid is None:
            raise BadInput(f"no enterprise {body.enterprise!r}", where="enterprise")
    user = rt.security.create_user(who, body.username, body.password, body.role, eid)
    return user_json(rt, user)


@router.delete("/users/{user_id}", summary="Disable a user", status_code=204)
async def disable_user(user_id: int, rt: RuntimeDep, who: PrincipalDep) -> Response:
    """Disable a user: its sessions end and its tokens stop working at once."""
    if user_id == who.user_id:
        raise BadInput("you cannot disable yourself", where="path: user_id")
    if not (who.may(Permission.MANAGE_ENTERPRISES) or who.may(Permission.MANAGE_OWN_USERS)):
        raise NotFound(f"no user {user_id}", where="path: user_id")
    rt.security.disable_user(who, user_id)
    return Response(status_code=204)


@router.get("/audit", summary="The audit log, newest first")
async def audit(
    rt: RuntimeDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> list[dict[str, Any]]:
    """Sign-ins, token use, changes and city reads: all for the city admin, the enterprise's
    own lines for an enterprise admin."""
    if not who.may(Permission.READ_AUDIT):
        raise Forbidden(f"a {who.role.value} may not read the audit log", where="role")
    every = who.may(Permission.MANAGE_ENTERPRISES)
    return rt.security.accounts.audit_log(
        enterprise_id=who.enterprise_id, every=every, limit=limit, before_id=before_id
    )


@router.get("/consents", summary="Indicators enterprises let the city see")
async def consents(rt: RuntimeDep, who: PrincipalDep) -> list[dict[str, Any]]:
    """The caller's enterprise's live consents; every enterprise's for city users."""
    if who.role is Role.DEVICE:
        raise Forbidden("a device token reads nothing", where="authorization")
    rows = rt.security.accounts.consents(None if who.role.is_city else who.enterprise_id)
    cat = rt.catalog
    return [
        {
            "enterprise": cat.enterprises[r["enterprise_id"]].slug,
            "indicator": r["indicator"],
            "granted_ms": r["granted_ms"],
        }
        for r in rows
        if r["enterprise_id"] in cat.enterprises
    ]


@router.put(
    "/consents/{indicator}", summary="Let the city see one of our indicators", status_code=204
)
async def grant(indicator: str, request: Request, rt: RuntimeDep, who: PrincipalDep) -> Response:
    """An enterprise admin consents to show the city this indicator (recorded, revocable)."""
    _consent_checks(who, indicator)
    assert who.enterprise_id is not None
    rt.security.accounts.grant(who.enterprise_id, indicator, who.user_id, rt.clock.now_ms())
    rt.security.record(who, "consent_granted", target=indicator, address=client_address(request))
    return Response(status_code=204)


@router.delete("/consents/{indicator}", summary="Withdraw a consent", status_code=204)
async def revoke(indicator: str, request: Request, rt: RuntimeDep, who: PrincipalDep) -> Response:
    """Withdraw the consent; the city's next read of it is refused."""
    _consent_checks(who, indicator)
    assert who.enterprise_id is not None
    if not rt.security.accounts.revoke(who.enterprise_id, indicator, rt.clock.now_ms()):
        raise NotFound(f"no consent for {indicator!r}", where="path: indicator")
    rt.security.record(who, "consent_revoked", target=indicator, address=client_address(request))
    return Response(status_code=204)


def _consent_checks(who: Principal, indicator: str) -> None:
    if not who.may(Permission.MANAGE_OWN_USERS) or who.enterprise_id is None:
        raise Forbidden("only an enterprise admin gives or withdraws consent", where="role")
    if indicator not in SHAREABLE_INDICATORS:
        known = ", ".join(SHAREABLE_INDICATORS)
        raise BadInput(f"unknown indicator {indicator!r}; known: {known}", where="path: indicator")
