"""`kiln report`: the yearly report from a store file, to standard output or a file; bad options
named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kiln.cli import main
from kiln.store.duckdb import DuckDBStore
from tests.conftest import small_city

SENTENCE = "In 2017 the city generated 2.24 trillion yuan of total industrial output value."


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A settings file pointing at a store with the small city (the plan seeds itself)."""
    folder = tmp_path_factory.mktemp("report")
    store = DuckDBStore(folder / "k.duckdb")
    store.import_assets(small_city())
    store.close()
    path = folder / "kiln.toml"
    path.write_text(f'[store]\npath = "{folder / "k.duckdb"}"\n', encoding="utf-8")
    return path


def run(config: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["report", "--config", str(config), *args])
    return r.exit_code, r.output


def test_markdown_goes_to_standard_output(config: Path) -> None:
    code, out = run(config, "--year", "2017", "--format", "md")
    assert code == 0, out
    assert out.startswith("# The city's industry and action plan: yearly report 2017")
    assert SENTENCE in out


def test_html_in_chinese_is_written_to_the_output_file(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, out = run(config, "--year", "2017", "--lang", "zh", "--output", str(target))
    assert code == 0, out
    assert f"wrote {target}" in out
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "2017年，全市实现工业总产值2.24万亿元" in html


def test_a_pdf_gets_a_file_name_of_its_own(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run(config, "--year", "2020", "--format", "pdf", "--plan", "tech-reform-2018-2020")
    assert code == 0, out
    pdf = (tmp_path / "kiln-report-tech-reform-2018-2020-2020-en.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert "wrote kiln-report-tech-reform-2018-2020-2020-en.pdf" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--year", "2099"], 1, "kiln: --year: 2099 is out of range"),
        (["--year", "2017", "--plan", "nope"], 1, "kiln: --plan: no plan 'nope'"),
        (["--year", "2017", "--lang", "fr"], 2, "Invalid value for '--lang'"),
        (["--year", "2017", "--format", "docx"], 2, "Invalid value for '--format'"),
        ([], 2, "Missing option '--year'"),
    ],
)
def test_a_bad_option_is_named(config: Path, args: list[str], code: int, message: str) -> None:
    exit_code, out = run(config, *args)
    assert exit_code == code, out
    assert message in out


def test_an_output_that_cannot_be_written_is_named(config: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "report.md"
    code, out = run(config, "--year", "2017", "--format", "md", "--output", str(missing))
    assert code == 1
    assert "kiln: --output: cannot write" in out
