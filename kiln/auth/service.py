"""Security: sign-in, sessions, tokens and users, each change audited.

Every check that decides who may do what to which enterprise lives here or in Principal; the
routes only ask.
"""

from __future__ import annotations

from collections.abc import Sequence

from kiln.auth.accounts import Accounts, TokenRow, UserRow
from kiln.auth.broker import Gateway, broker_username, mosquitto_hash
from kiln.auth.principal import Principal
from kiln.auth.ratelimit import RateLimiter
from kiln.auth.roles import GRANTABLE, Role
from kiln.auth.secrets import (
    check_password_strength,
    hash_password,
    new_csrf_token,
    new_session_id,
    new_token,
    token_hash,
    verify_password,
)
from kiln.clock import Clock
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput, Forbidden, NotFound, TooManyRequests, Unauthorized

SESSION_TTL_MS = 12 * 3_600_000  # one shift and a half: sign in again each working day
TOKEN_TOUCH_MS = 60_000  # record a token's use at most once a minute (not on every request)
# A verified token is remembered this long, so a busy gateway costs one lookup a second, not
# one per request. Revoking a token or disabling a user here forgets them all at once; another
# process (the server tier) sees a revocation within this time.
TOKEN_CACHE_MS = 1_000
# A hash to check against when the user does not exist, so a wrong name costs as long as a
# wrong password and sign-in does not reveal which names exist.
_DUMMY_HASH = hash_password("not-a-real-password-0")


class Security:
    """Authenticates callers and manages users and tokens."""

    def __init__(self, accounts: Accounts, clock: Clock, *, login_per_minute: float = 10.0):
        self.accounts = accounts
        self.clock = clock
        self.login_limit = RateLimiter(rate=login_per_minute / 60.0, burst=5)
        self._touched: dict[int, int] = {}
        self._verified: dict[str, tuple[Principal, int]] = {}  # token hash -> (who, good until)

    # -- authentication ----------------------------------------------------------------------

    def from_token(self, token: str) -> Principal:
        """The principal of a bearer token; Unauthorized if unknown, revoked or expired."""
        digest = token_hash(token)
        now = self.clock.now_ms()
        cached = self._verified.get(digest)
        if cached is not None and now < cached[1]:
            return cached[0]
        row = self.accounts.token_by_hash(digest)
        if (
            row is None
            or row.revoked_ms is not None
            or (row.expires_ms is not None and row.expires_ms <= now)
        ):
            raise Unauthorized("the token is unknown, revoked or expired", where="authorization")
        name = f"token:{row.name}"
        if row.user_id is not None:
            user = self.accounts.user(row.user_id)
            if user is None or user.disabled:
                raise Unauthorized("the token's user is disabled", where="authorization")
            name = f"{user.username}/token:{row.name}"
        who = Principal(
            row.user_id,
            name,
            row.role,
            row.enterprise_id,
            token_id=row.id,
            equipment=frozenset(row.equipment) if row.equipment else None,
        )
        if now - self._touched.get(row.id, 0) >= TOKEN_TOUCH_MS:
            # Token use is recorded and audited once a minute per token, not per request.
            self._touched[row.id] = now
            self.accounts.touch_token(row.id, now)
            self.record(who, "token_used", target=f"token:{row.id}")
        good_until = now + TOKEN_CACHE_MS
        if row.expires_ms is not None:
            good_until = min(good_until, row.expires_ms)
        if len(self._verified) > 10_000:  # stale entries of tokens no longer in use
            self._verified.clear()
        self._verified[digest] = (who, good_until)
        return who

    def from_session(self, session_id: str) -> Principal:
        """The principal of a web session cookie; Unauthorized if unknown or expired."""
        id_hash = token_hash(session_id)
        found = self.accounts.session(id_hash, self.clock.now_ms())
        if found is None:
            raise Unauthorized("not signed in, or the session has expired", where="cookie")
        user = self.accounts.user(found[0])
        if user is None or user.disabled:
            raise Unauthorized("the user is disabled", where="cookie")
        return Principal(
            user.id, user.username, user.role, user.enterprise_id, session=id_hash, csrf=found[1]
        )

    def sign_in(self, username: str, password: str, *, address: str) -> tuple[str, Principal]:
        """Check a password and start a new session (a fresh id: no fixation); audited."""
        now = self.clock.now_ms()
        for key in (f"user:{username.lower()}", f"addr:{address}"):
            wait = self.login_limit.take(key, now_s=now / 1000)
            if wait:
                raise TooManyRequests(
                    "too many sign-in attempts", where="username", retry_after_s=wait
                )
        user = self.accounts.user_by_name(username)
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not ok or user.disabled:
            self.accounts.audit(
                ts_ms=now,
                actor=username,
                role=None,
                enterprise_id=user.enterprise_id if user else None,
                action="sign_in_failed",
                address=address,
            )
            raise Unauthorized("wrong user name or password", where="username")
        session_id, csrf = new_session_id(), new_csrf_token()
        self.accounts.add_session(token_hash(session_id), user.id, csrf, now, now + SESSION_TTL_MS)
        self.accounts.audit(
            ts_ms=now,
            actor=user.username,
            role=user.role.value,
            enterprise_id=user.enterprise_id,
            action="sign_in",
            address=address,
        )
        return session_id, Principal(
            user.id,
            user.username,
            user.role,
            user.enterprise_id,
            session=token_hash(session_id),
            csrf=csrf,
        )

    def sign_out(self, who: Principal, *, address: str) -> None:
        """End the caller's web session; audited."""
        if who.session:
            self.accounts.end_session(who.session)
        self.record(who, "sign_out", address=address)

    # -- users -------------------------------------------------------------------------------

    def create_user(
        self,
        actor: Principal | None,
        username: str,
        password: str,
        role: Role,
        enterprise_id: int | None,
    ) -> UserRow:
        """Create a user; the actor may only grant roles it may hand out, in its enterprise.

        actor None is the system itself (first start, `kiln users add`).
        """
        if role.is_city != (enterprise_id is None):
            raise BadInput(
                "city roles have no enterprise; every other role needs one", where="enterprise"
            )
        if role is Role.DEVICE:
            raise BadInput("devices get tokens, not users: POST /api/v1/tokens", where="role")
        self._check_grant(actor, role, enterprise_id)
        why = check_password_strength(password)
        if why:
            raise BadInput(f"the password {why}", where="password")
        if not (1 <= len(username) <= 64) or not username.isprintable() or " " in username:
            raise BadInput("1-64 printable characters without spaces", where="username")
        user = self.accounts.add_user(
            username, hash_password(password), role, enterprise_id, self.clock.now_ms()
        )
        self.record(
            actor,
            "user_created",
            target=f"user:{user.id}",
            enterprise_id=enterprise_id,
            detail=f"{username} as {role.value}",
        )
        return user

    def disable_user(self, actor: Principal, user_id: int) -> None:
        """Disable a user (sessions end, tokens revoked at once)."""
        user = self.accounts.user(user_id)
        if user is None or not self._may_manage(actor, user.enterprise_id, user.role):
            raise NotFound(f"no user {user_id}", where="path: user_id")
        self.accounts.disable_user(user_id, self.clock.now_ms())
        self._verified.clear()
        self.record(
            actor, "user_disabled", target=f"user:{user_id}", enterprise_id=user.enterprise_id
        )

    # -- tokens ------------------------------------------------------------------------------

    def create_token(
        self,
        actor: Principal,
        name: str,
        *,
        role: Role | None = None,
        equipment: Sequence[int] | None = None,
        expires_ms: int | None = None,
    ) -> tuple[str, TokenRow]:
        """A new bearer token: the actor's own (its role or a lesser one) or a device token.

        A device token belongs to the actor's enterprise, optionally limited to equipment.
        """
        role = role or actor.role
        if not name or len(name) > 100:
            raise BadInput("a token needs a name of 1-100 characters", where="name")
        if role is not actor.role:
            self._check_grant(actor, role, actor.enterprise_id)
        if equipment is not None and role is not Role.DEVICE:
            raise BadInput("only device tokens are limited to equipment", where="equipment")
        if expires_ms is not None and expires_ms <= self.clock.now_ms():
            raise BadInput("the expiry is in the past", where="expires_ms")
        token, digest = new_token()
        row = self.accounts.add_token(
            user_id=None if role is Role.DEVICE else actor.user_id,
            name=name,
            token_hash=digest,
            role=role,
            enterprise_id=actor.enterprise_id,
            equipment=equipment,
            now_ms=self.clock.now_ms(),
            expires_ms=expires_ms,
            mqtt_hash=mosquitto_hash(token) if role is Role.DEVICE else None,
        )
        self.record(
            actor, "token_created", target=f"token:{row.id}", detail=f"{name} as {role.value}"
        )
        return token, row

    def visible_tokens(self, actor: Principal) -> list[TokenRow]:
        """The actor's own tokens, plus its enterprise's device tokens for an admin."""
        own = self.accounts.tokens(user_id=actor.user_id) if actor.user_id is not None else []
        if actor.role is Role.ENTERPRISE_ADMIN:
            devices = [
                t
                for t in self.accounts.tokens(enterprise_id=actor.enterprise_id)
                if t.role is Role.DEVICE
            ]
            own += devices
        return own

    def revoke_token(self, actor: Principal, token_id: int) -> None:
        """Revoke a token the actor owns (or, for an admin, a device token of its enterprise)."""
        if not any(t.id == token_id for t in self.visible_tokens(actor)):
            raise NotFound(f"no token {token_id}", where="path: token_id")
        self.accounts.revoke_token(token_id, self.clock.now_ms())
        self._verified.clear()
        self.record(actor, "token_revoked", target=f"token:{token_id}")

    def gateways(self, catalog: AssetCatalog) -> list[Gateway]:
        """Every live device credential with the topics its enterprise owns."""
        out = []
        for token_id, enterprise_id, mqtt_hash in self.accounts.broker_credentials():
            ent = catalog.enterprises.get(enterprise_id)
            if ent is None:
                continue
            groups = sorted(
                {
                    f"{ent.slug}.{catalog.sites[ln.site_id].slug}.{ln.area or 'default'}"
                    for ln in catalog.lines.values()
                    if ln.enterprise_id == enterprise_id
                }
            )
            out.append(
                Gateway(broker_username(ent.slug, token_id), mqtt_hash, ent.slug, tuple(groups))
            )
        return out

    # -- audit -------------------------------------------------------------------------------

    def record(
        self,
        actor: Principal | None,
        action: str,
        *,
        target: str = "",
        detail: str = "",
        enterprise_id: int | None = None,
        address: str = "",
    ) -> None:
        """Append an audit line for something the actor did."""
        self.accounts.audit(
            ts_ms=self.clock.now_ms(),
            actor=actor.name if actor else "system",
            role=actor.role.value if actor else None,
            enterprise_id=enterprise_id
            if enterprise_id is not None
            else (actor.enterprise_id if actor else None),
            action=action,
            target=target,
            detail=detail,
            address=address,
        )

    # -- rules -------------------------------------------------------------------------------

    def _check_grant(self, actor: Principal | None, role: Role, enterprise_id: int | None) -> None:
        if actor is None:
            return
        if role not in GRANTABLE.get(actor.role, frozenset()):
            raise Forbidden(f"a {actor.role.value} may not grant {role.value}", where="role")
        if actor.role is not Role.CITY_ADMIN and enterprise_id != actor.enterprise_id:
            raise Forbidden("users belong to the admin's own enterprise", where="enterprise")

    @staticmethod
    def _may_manage(actor: Principal, enterprise_id: int | None, role: Role) -> bool:
        if actor.role is Role.CITY_ADMIN:
            return True
        return actor.role is Role.ENTERPRISE_ADMIN and enterprise_id == actor.enterprise_id
