"""`kiln detect ai4i PATH`: failure prediction on the AI4I 2020 data, rules against a model."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from kiln.analytics.failure_prediction import MODES, Comparison, Evaluation, compare
from kiln.cli.ai4i_file import read_ai4i
from kiln.errors import KilnError


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f} %"


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def _as_dict(e: Evaluation) -> dict[str, Any]:
    return {
        "tp": e.tp,
        "fp": e.fp,
        "fn": e.fn,
        "precision": _num(e.precision),
        "recall": _num(e.recall),
        "f1": _num(e.f1),
        "pr_auc": _num(e.pr_auc),
        "mode_recall": {
            m: {
                "caught": e.mode_caught[m],
                "total": e.mode_total[m],
                "recall": _num(e.mode_recall(m)),
            }
            for m in MODES
        },
    }


def to_json(c: Comparison) -> dict[str, Any]:
    """The comparison as plain data (NaN becomes null)."""
    doc = {
        "protocol": {
            "split": "stratified on Machine failure",
            "seed": c.seed,
            "train_rows": c.train_rows,
            "test_rows": c.test_rows,
            "test_failures": c.test_failures,
        },
        "rules": _as_dict(c.rules),
        "model": _as_dict(c.model),
    }
    return doc


def to_table(c: Comparison) -> str:
    """The comparison as a text table, one column per predictor."""
    rows: list[tuple[str, ...]] = [("", "rules (HDF/PWF/OSF)", "model (HistGBT)")]
    pair = (c.rules, c.model)
    rows += [
        ("failures caught", *(f"{e.tp} of {e.tp + e.fn}" for e in pair)),
        ("false alarms", *(str(e.fp) for e in pair)),
        ("precision", *(_pct(e.precision) for e in pair)),
        ("recall", *(_pct(e.recall) for e in pair)),
        ("F1", *(f"{e.f1:.3f}" for e in pair)),
        ("PR-AUC", *(f"{e.pr_auc:.3f}" for e in pair)),
    ]
    rows += [
        (f"recall {m}", *(f"{e.mode_caught[m]}/{e.mode_total[m]}" for e in pair)) for m in MODES
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        f"test rows: {c.test_rows} of {c.train_rows + c.test_rows} "
        f"(stratified 80/20, seed {c.seed}), {c.test_failures} failures",
        *(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows),
        "RNF (random failures) is left out; the rules' PR-AUC is that of a yes/no score.",
    ]
    return "\n".join(lines)


@click.command("ai4i")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", default=42, show_default=True, help="Seed of the split and the model.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ai4i(path: Path, seed: int, as_json: bool) -> None:
    """Predict machine failures in the AI4I 2020 file: the generating rules against a model."""
    try:
        result = compare(read_ai4i(path), seed=seed)
    except KilnError as err:
        click.echo(f"kiln: {err}", err=True)
        sys.exit(1)
    except ImportError as err:
        click.echo(f"kiln: the model needs scikit-learn ({err})", err=True)
        sys.exit(1)
    click.echo(json.dumps(to_json(result), indent=2) if as_json else to_table(result))
