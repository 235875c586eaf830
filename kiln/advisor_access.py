"""The robot-upgrade advisor as a caller may see it, shared by the API and the pages.

An enterprise's users see their own lines, candidates and installations; recording an
installation needs `manage_own_assets`. City roles see the city roll-up only, under the
disclosure rules: no cell from fewer than three enterprises or dominated by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from kiln.access import Access
from kiln.advisor.assumptions import Assumptions
from kiln.advisor.catalogue import Need
from kiln.advisor.economics import Candidate
from kiln.advisor.explain import explain
from kiln.advisor.follow_up import Comparison
from kiln.advisor_service.matching import needs_of
from kiln.advisor_service.service import (
    DEFAULT_DAYS,
    CityAdvice,
    Followed,
    LineAdvice,
    Proposal,
    assumptions_of,
    prediction_of,
)
from kiln.auth.roles import Permission
from kiln.domain.assets import Enterprise
from kiln.errors import BadInput, NotFound
from kiln.runtime import Runtime
from kiln.solution_access import solution_doc
from kiln.store.installation_tables import Installation

MAX_DESCRIPTION = 500
MAX_KEPT = 100


def lines_of(access: Access, ent: Enterprise) -> list[int]:
    """The enterprise's line ids, in site and line order."""
    return sorted(ln.id for ln in access.catalog.lines.values() if ln.enterprise_id == ent.id)


def own_line(access: Access, line_id: int) -> int:
    """A line of the caller's enterprise; 404 for any other."""
    access.require(Permission.READ_OWN_DATA)
    line = access.catalog.lines.get(line_id)
    if line is None or not access.who.owns(line.enterprise_id):
        raise NotFound(f"no line {line_id}", where="path: line_id")
    return line.id


def own_assumptions(
    rt: Runtime, enterprise_id: int, overrides: Mapping[str, Any] | None = None
) -> Assumptions:
    """Kiln's defaults, with the enterprise's kept changes, with this request's on top."""
    return assumptions_of({**rt.store.assumptions.get(enterprise_id), **(overrides or {})})


def kept_assumptions(rt: Runtime, access: Access, slug: str) -> dict[str, Any]:
    """The enterprise's kept changes to the defaults, for its own users."""
    return rt.store.assumptions.get(access.own_enterprise(slug).id)


def keep_assumptions(
    rt: Runtime, access: Access, slug: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Keep an enterprise's changes to the defaults (an enterprise admin; checked, audited);
    an empty mapping goes back to Kiln's defaults."""
    access.require(Permission.MANAGE_OWN_ASSETS)
    ent = access.own_enterprise(slug)
    if len(changes) > MAX_KEPT:
        raise BadInput(f"{len(changes)} assumptions; at most {MAX_KEPT}", where="body")
    assumptions_of(changes)  # BadInput names a wrong key or value
    kept = {str(k): (None if v is None else float(v)) for k, v in changes.items()}
    rt.store.assumptions.put(ent.id, kept, access.now_ms, access.who.name)
    rt.security.record(
        access.who, "advisor.assumptions", target=f"enterprise {ent.slug}", enterprise_id=ent.id
    )
    return kept


def enterprise_advice(
    rt: Runtime,
    access: Access,
    slug: str,
    *,
    days: int = DEFAULT_DAYS,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Enterprise, list[LineAdvice], Assumptions]:
    """Every measured line of an enterprise the caller may read, with its proposals."""
    ent = access.own_enterprise(slug)
    a = own_assumptions(rt, ent.id, overrides)
    found = rt.advisor.advise(
        access.catalog, lines_of(access, ent), access.now_ms, days=days, assumptions=a
    )
    return ent, found, a


def line_advice(
    rt: Runtime,
    access: Access,
    line_id: int,
    *,
    days: int = DEFAULT_DAYS,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[LineAdvice | None, Assumptions]:
    """One line of the caller's enterprise; None when it has no measured station yet."""
    own_line(access, line_id)
    a = own_assumptions(rt, access.catalog.lines[line_id].enterprise_id, overrides)
    found = rt.advisor.advise(access.catalog, [line_id], access.now_ms, days=days, assumptions=a)
    return (found[0] if found else None), a


def city_advice(
    rt: Runtime,
    access: Access,
    *,
    within_years: float = 3.0,
    days: int = DEFAULT_DAYS,
    overrides: Mapping[str, Any] | None = None,
) -> CityAdvice:
    """The city roll-up: city roles only."""
    access.require(Permission.READ_CITY_AGGREGATES)
    return rt.advisor.city(
        access.catalog,
        access.now_ms,
        within_years=within_years,
        days=days,
        assumptions=assumptions_of(overrides),
        per_enterprise=_per_enterprise(rt, access, overrides),
    )


def _per_enterprise(
    rt: Runtime, access: Access, overrides: Mapping[str, Any] | None = None
) -> dict[str, Assumptions]:
    """Each enterprise's own assumptions, where it kept changes (a kept change that no longer
    passes the checks is left out, not fatal to the city's view)."""
    out = {}
    for eid, kept in rt.store.assumptions.all().items():
        ent = access.catalog.enterprises.get(eid)
        if ent is None:
            continue
        try:
            out[ent.slug] = assumptions_of({**kept, **(overrides or {})})
        except BadInput:
            continue
    return out


def demand(rt: Runtime, access: Access) -> Mapping[str, Sequence[Need]]:
    """The candidates the caller may count, as catalogue needs by industry code: an
    enterprise's own, the whole city's for city roles (counts only leave this function)."""
    if access.who.may(Permission.READ_CITY_AGGREGATES):
        line_ids = sorted(access.catalog.lines)
    else:
        ents = {e.id for e in access.enterprises()}
        line_ids = sorted(ln.id for ln in access.catalog.lines.values() if ln.enterprise_id in ents)
    advice = rt.advisor.advise(
        access.catalog, line_ids, access.now_ms, solutions=[],
        per_enterprise=_per_enterprise(rt, access),
    )  # fmt: skip
    out: dict[str, list[Need]] = {}
    for la in advice:
        for p in la.proposals:
            out.setdefault(p.candidate.industry_code, []).append(needs_of(p.candidate)[0])
    return out


# -- installations ------------------------------------------------------------------------------


def record_installation(
    rt: Runtime,
    access: Access,
    line_id: int,
    doc: Mapping[str, Any],
) -> Installation:
    """Record a robot installed on a station of the caller's line, with the advisor's current
    prediction for that station (which must be a candidate). Audited."""
    access.require(Permission.MANAGE_OWN_ASSETS)
    own_line(access, line_id)
    station_id = _int(doc, "station_id")
    st = access.catalog.stations.get(station_id)
    if st is None or st.line_id != line_id:
        raise NotFound(f"no station {station_id} on line {line_id}", where="body: station_id")
    installed_ms = _int(doc, "installed_ms")
    if not 0 < installed_ms <= access.now_ms:
        raise BadInput("installed_ms must be a past UTC epoch-ms time", where="body: installed_ms")
    description = str(doc.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise BadInput(
            f"description has {len(description)} characters; at most {MAX_DESCRIPTION}",
            where="body: description",
        )
    solution_id = doc.get("solution_id")
    if solution_id is not None:
        solution_id = _int(doc, "solution_id")
        if rt.store.solutions.get(solution_id) is None:
            raise NotFound(f"no solution {solution_id}", where="body: solution_id")
    overrides = doc.get("assumptions")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise BadInput("assumptions must be an object", where="body: assumptions")
    # The prediction is the advice as it stood just before the installation.
    a = own_assumptions(rt, access.catalog.lines[line_id].enterprise_id, overrides)
    before = rt.advisor.advise(access.catalog, [line_id], installed_ms, assumptions=a, solutions=[])
    found = [
        p.candidate
        for la in before
        for p in la.proposals
        if p.candidate.station.measure.station_id == station_id
    ]
    if not found:
        raise BadInput(
            f"station {st.name!r} was not a candidate before {installed_ms}: nothing to follow up",
            where="body: station_id",
        )
    line = access.catalog.lines[line_id]
    item = rt.store.installations.add(
        Installation(
            id=0,
            enterprise_id=line.enterprise_id,
            line_id=line_id,
            station_id=station_id,
            installed_ms=installed_ms,
            solution_id=solution_id,
            description=description,
            prediction=prediction_of(found[0], a),
            recorded_ms=access.now_ms,
            recorded_by=access.who.name,
        )
    )
    rt.security.record(
        access.who,
        "installation.record",
        target=f"line {line_id} station {station_id}",
        enterprise_id=line.enterprise_id,
    )
    return item


def remove_installation(rt: Runtime, access: Access, installation_id: int) -> None:
    """Remove a mistaken record of the caller's enterprise; 404 for any other. Audited."""
    access.require(Permission.MANAGE_OWN_ASSETS)
    item = rt.store.installations.get(installation_id)
    if item is None or not access.who.owns(item.enterprise_id):
        raise NotFound(f"no installation {installation_id}", where="path: installation_id")
    rt.store.installations.delete(installation_id)
    rt.security.record(
        access.who,
        "installation.delete",
        target=f"installation {installation_id}",
        enterprise_id=item.enterprise_id,
    )


def installations(rt: Runtime, access: Access, line_id: int) -> list[Followed]:
    """The installations on a line of the caller's, each with its measured effect."""
    own_line(access, line_id)
    return [
        rt.advisor.follow_up(access.catalog, item, access.now_ms)
        for item in rt.store.installations.of_lines([line_id])
    ]


def _int(doc: Mapping[str, Any], key: str) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{key} must be an integer, not {value!r}", where=f"body: {key}")
    return value


# -- documents ----------------------------------------------------------------------------------


def candidate_doc(rt: Runtime, access: Access, p: Proposal, lang: str = "en") -> dict[str, Any]:
    """A candidate as the API shows it: station, effects, money, range, words, solutions."""
    c = p.candidate
    m = c.station.measure
    return {
        "line_id": c.line_id,
        "line": c.line_slug,
        "station": {"id": m.station_id, "slug": m.slug, "name": m.name, "position": m.position,
                    "operators": m.operators},
        "process": c.process,
        "reasons": list(c.reasons),
        "bottleneck_share": c.station.bottleneck_share,
        "effects": asdict(c.effects),
        "money": {**asdict(c.money), "investment_yuan": c.money.investment_yuan,
                  "net_benefit_yuan_per_year": c.money.net_benefit_yuan_per_year},
        "range": asdict(c.range),
        "explanation": explain(c, lang),
        "solutions": [
            {**solution_doc(access.catalog, mt.solution), "score": mt.score,
             "why": list(mt.reasons)}
            for mt in p.matches
        ],
    }  # fmt: skip


def line_doc(rt: Runtime, access: Access, la: LineAdvice, lang: str = "en") -> dict[str, Any]:
    """A line's analysis and candidates as the API shows them."""
    an = la.analysis
    neck = an.bottleneck
    return {
        "line_id": la.line.measure.line_id,
        "line": la.line.measure.slug,
        "name": la.line.measure.name,
        "window": {"start_ms": la.start_ms, "end_ms": la.end_ms,
                   "shifts": len(la.line.measure.stations[0].samples)},
        "takt_s": an.takt_s,
        "takt_configured": an.takt_configured,
        "bottleneck": neck.measure.slug if neck else None,
        "pattern_consistency": an.pattern_consistency,
        "stations": [station_doc(s) for s in an.stations],
        "unmeasured": list(la.line.unmeasured),
        "candidates": [candidate_doc(rt, access, p, lang) for p in la.proposals],
    }  # fmt: skip


def station_doc(s: Any) -> dict[str, Any]:
    """One station's analysis."""
    m = s.measure
    return {
        "id": m.station_id,
        "slug": m.slug,
        "name": m.name,
        "position": m.position,
        "operators": m.operators,
        "manual": m.manual,
        "cycle_s": s.cycle_s,
        "cycle_vs_takt": s.cycle_vs_takt,
        "availability_loss_s": s.availability_loss_s,
        "performance_loss_s": s.performance_loss_s,
        "quality_loss_s": s.quality_loss_s,
        "loss_share": s.loss_share,
        "bottleneck_share": s.bottleneck_share,
        "cycle_cv": s.cycle_cv,
        "scrap_rate": s.scrap_rate,
        "starved_share": m.share("starved_s"),
        "blocked_share": m.share("blocked_s"),
    }


def assumptions_doc(a: Assumptions) -> list[dict[str, Any]]:
    """Every assumption with its value, unit and source."""
    return [asdict(r) for r in a.describe()]


def followed_doc(f: Followed) -> dict[str, Any]:
    """An installation with its follow-up."""
    item = asdict(f.installation)
    if f.result is None:
        return {**item, "follow_up": None, "why": f.why}
    r = f.result

    def comp(c: Comparison) -> dict[str, Any]:
        return {"predicted": c.predicted, "measured": c.measured, "error": c.error,
                "relative_error": c.relative_error, "verdict": c.verdict}  # fmt: skip

    return {
        **item,
        "follow_up": {
            "output_before_per_h": r.output_before_per_h,
            "output_after_per_h": r.output_after_per_h,
            "gain": comp(r.gain),
            "cycle": comp(r.cycle),
            "scrap": comp(r.scrap),
            "verdict": r.verdict,
        },
        "why": "",
    }


def city_doc(advice: CityAdvice) -> dict[str, Any]:
    """The city roll-up as published: withheld cells are null with the reason."""
    t = advice.table
    cells = []
    if t is not None:
        for i, ind in enumerate(t.industries):
            for j, dist in enumerate(t.districts):
                hidden = bool(t.suppressed[i, j])
                cells.append(
                    {
                        "industry": ind,
                        "district": dist,
                        "withheld": hidden,
                        **{
                            f: None if hidden else _num(t.published(f)[i, j])
                            for f in ("robots", "investment_yuan", "added_output_yuan_per_year")
                        },
                    }
                )
    # The city's totals are published only where the disclosure rules let the grand total be.
    hidden = t is None or bool(t.robots.grand_total.suppressed)
    return {
        "within_years": advice.within_years,
        "window": {"start_ms": advice.start_ms, "end_ms": advice.end_ms},
        "candidates": None if hidden else advice.candidates,
        "enterprises": None if hidden else advice.enterprises,
        "cells": cells,
        "supply": [asdict(r) for r in advice.supply],
    }


def _num(x: Any) -> float | None:
    v = float(x)
    return None if np.isnan(v) else v


def explained(c: Candidate, lang: str) -> str:
    """The candidate in words, in the page's language (English for any other)."""
    return explain(c, "zh" if lang.startswith("zh") else "en")
