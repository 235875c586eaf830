"""The kiln command: help for each command, config checks, asset import errors."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kiln.cli import main


def test_help_explains_each_command() -> None:
    out = CliRunner().invoke(main, ["--help"]).output
    for command in ("demo", "serve", "simulate", "assets", "config"):
        assert f"kiln {command}" in out
    for command in ("demo", "serve", "simulate"):
        r = CliRunner().invoke(main, [command, "--help"])
        assert r.exit_code == 0
        assert "--port" in r.output or "--hours" in r.output


def test_a_bad_setting_stops_with_the_key_named() -> None:
    r = CliRunner().invoke(main, ["config"], env={"KILN_SERVER__PORT": "0"})
    assert r.exit_code == 1
    assert "KILN_SERVER__PORT: server.port" in r.output


def test_config_prints_every_key() -> None:
    r = CliRunner().invoke(main, ["config"], env={"KILN_SIMULATOR__SEED": "11"})
    assert r.exit_code == 0
    assert "simulator.seed" in r.output
    assert "= 11" in r.output


def test_asset_import_loads_yaml_and_names_bad_items(tmp_path: Path) -> None:
    good = tmp_path / "plant.yaml"
    good.write_text(
        "enterprises:\n"
        "  - slug: foshan-tiles\n    district: gaoming\n    industry: '3071'\n"
        "    sites:\n      - slug: p1\n        lines:\n          - slug: k1\n"
        "            stations:\n              - slug: firing\n                equipment:\n"
        "                  - slug: kiln-1\n                    template: roller_kiln\n"
    )
    env = {"KILN_STORE__PATH": str(tmp_path / "k.duckdb")}
    r = CliRunner().invoke(main, ["assets", "import", str(good)], env=env)
    assert r.exit_code == 0, r.output
    assert "1 enterprises, 1 equipment" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[enterprises]]\nslug = "x"\ndistrict = "beijing"\nindustry = "3071"\n')
    r = CliRunner().invoke(main, ["assets", "import", str(bad)], env=env)
    assert r.exit_code == 1
    assert f"{bad}: enterprises[0].district: unknown district 'beijing'" in r.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("enterprises: [\n")
    r = CliRunner().invoke(main, ["assets", "import", str(broken)], env=env)
    assert r.exit_code == 1
    assert f"{broken}: cannot parse" in r.output
