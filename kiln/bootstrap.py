"""First start: an administrator, and for the demo a sign-in for every simulated enterprise."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kiln.auth.roles import Role
from kiln.runtime import Runtime

PASSWORD_FILE = "initial-admin-password"


def _password(folder: Path) -> str:
    """The first-start password, kept (owner-readable only) beside the data so it can be found
    again; a deployment changes it after signing in."""
    path = folder / PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    folder.mkdir(parents=True, exist_ok=True)
    password = "kiln-" + secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    return password


def ensure_accounts(rt: Runtime, *, demo: bool) -> list[str]:
    """Create the first users if none exist; return the lines telling how to sign in."""
    accounts = rt.security.accounts
    folder = Path(rt.settings.store.path).parent
    if not accounts.users(every=True):
        password = _password(folder)
        rt.security.create_user(None, "admin", password, Role.CITY_ADMIN, None)
        if demo:
            # One argon2 hash serves every demo user (same password): hashing each would cost
            # ~0.2 s apiece and delay the first start by seconds.
            hashed = accounts.user_by_name("admin")
            assert hashed is not None
            now = rt.clock.now_ms()
            users = [("analyst", Role.CITY_ANALYST, None)] + [
                (e.slug, Role.ENTERPRISE_ADMIN, e.id)
                for e in sorted(rt.catalog.enterprises.values(), key=lambda e: e.id)
            ]
            for name, role, eid in users:
                accounts.add_user(name, hashed.password_hash, role, eid, now)
                rt.security.record(
                    None, "user_created", enterprise_id=eid, detail=f"{name} as {role.value} (demo)"
                )
    path = folder / PASSWORD_FILE
    if not path.exists():
        return []
    password = path.read_text(encoding="utf-8").strip()
    lines = [f"Sign in as 'admin' (city admin) with password {password} (kept in {path})."]
    if demo:
        example = min(rt.catalog.enterprises.values(), key=lambda e: e.id, default=None)
        if example is not None:
            lines.append(
                f"Each simulated enterprise has its own admin, named by its slug "
                f"(e.g. '{example.slug}'), and 'analyst' is a city analyst; same password."
            )
    return lines


DEMO_FILINGS_KEY = "demo.filings_through"


def ensure_demo_filings(rt: Runtime) -> int:
    """The demo city's monthly statistical filings from 2016 to the last closed month, written
    once (calibrated to the city's published figures: kiln.simulator.statistics); later months
    are added on the next start. Returns how many were written."""
    from kiln.plan_service.service import local_year_month
    from kiln.simulator.statistics import simulate_filings

    plans = rt.store.plans
    year, month = local_year_month(rt.clock.now_ms())
    through = (year, month - 1) if month > 1 else (year - 1, 12)
    done = rt.store.get_meta(DEMO_FILINGS_KEY)
    if done == f"{through[0]}-{through[1]:02d}":
        return 0
    enterprises = sorted(rt.catalog.enterprises.values(), key=lambda e: e.id)
    filings = simulate_filings(enterprises, rt.plan.config(), first_year=2016, through=through)
    if done:
        # Only the months after the last start; earlier ones (and any corrections) stay.
        y, m = (int(x) for x in done.split("-"))
        filings = [f for f in filings if (f.period.year, f.period.month) > (y, m)]
    # A period someone filed by hand meanwhile keeps their filing.
    taken = plans.current_filings([(f.enterprise_id, f.period) for f in filings])
    filings = [f for f in filings if (f.enterprise_id, f.period) not in taken]
    plans.write_filings(filings)
    rt.store.set_meta(DEMO_FILINGS_KEY, f"{through[0]}-{through[1]:02d}")
    return len(filings)


def ensure_demo_solutions(rt: Runtime) -> int:
    """The demo city's solution catalogue, published by its robot makers, when the catalogue is
    empty (kiln/advisor/seed_solutions.toml). Returns how many entries were added."""
    from kiln.advisor.catalogue_seed import seed_solutions

    return seed_solutions(
        rt.store.solutions, rt.catalog.enterprises.values(), now_ms=rt.clock.now_ms()
    )
