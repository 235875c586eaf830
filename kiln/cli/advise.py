"""`kiln advise`: where a robot pays for itself, from the store's measured lines.

It reads the store file directly, as its operator (stop `kiln serve` first, or use the API).
"""

from __future__ import annotations

from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from


def _overrides(items: tuple[str, ...]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not name=value", param_hint="--assume")
        try:
            out[name] = None if text.lower() in ("", "none") else float(text)
        except ValueError:
            raise click.BadParameter(
                f"{name}: {text!r} is not a number", param_hint="--assume"
            ) from None
    return out


@click.command()
@config_option
@click.option("--enterprise", "slug", default=None, help="One enterprise (default: every one).")
@click.option("--days", default=14, show_default=True, help="Days measured, up to now.")
@click.option("--assume", multiple=True, metavar="NAME=VALUE", help="Change an assumption.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--assumptions", "show_assumptions", is_flag=True, help="List the assumptions.")
def advise(
    config_path: Path | None,
    slug: str | None,
    days: int,
    assume: tuple[str, ...],
    lang: str,
    show_assumptions: bool,
) -> None:
    """Each line's bottleneck and the stations where a robot cell would pay back, best first."""
    from kiln.advisor.explain import explain
    from kiln.advisor_service.service import AdvisorService, assumptions_of
    from kiln.clock import SystemClock
    from kiln.errors import BadInput
    from kiln.runtime import open_store

    settings = settings_from(config_path)
    try:
        a = assumptions_of(_overrides(assume))
    except BadInput as e:
        raise click.UsageError(str(e)) from None
    if show_assumptions:
        for row in a.describe():
            click.echo(f"{row.name:32} {row.value!s:>12}  {row.unit}  ({row.source})")
        return
    store = open_store(settings)
    try:
        catalog = store.catalog()
        if slug is not None and slug not in catalog.enterprise_by_slug:
            raise click.BadParameter(f"no enterprise {slug!r}", param_hint="--enterprise")
        ent = catalog.enterprise_by_slug.get(slug or "")
        lines = sorted(
            ln.id for ln in catalog.lines.values() if ent is None or ln.enterprise_id == ent
        )
        service = AdvisorService(store, settings.kpi)
        try:
            found = service.advise(catalog, lines, SystemClock().now_ms(), days=days, assumptions=a)
        except BadInput as e:
            raise click.UsageError(str(e)) from None
    finally:
        store.close()
    if not found:
        click.echo("No line has measured data in the window.")
        return
    shown = 0
    for la in found:
        m, neck = la.line.measure, la.analysis.bottleneck
        where = f"{m.enterprise}/{m.slug}"
        head = f"{where}: bottleneck {neck.measure.name}" if neck else f"{where}: no bottleneck"
        click.echo(f"{head}; {len(la.proposals)} candidate(s)")
        for p in la.proposals:
            shown += 1
            c = p.candidate
            click.echo(f"  - {explain(c, lang)}")
            for mt in p.matches[:3]:
                click.echo(f"      solution #{mt.solution.id}: {mt.solution.name}")
    click.echo(f"\n{shown} candidate(s) on {len(found)} measured line(s).")
