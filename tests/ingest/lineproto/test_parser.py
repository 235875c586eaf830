"""Line protocol decoded to points: known answers, escapes, quoted strings, every precision,
and each problem named by line and column."""

from __future__ import annotations

import pytest

from kiln.domain.catalog import AssetCatalog
from kiln.ingest.line_protocol import LineDecoded, TooManyValues, decode
from kiln.ingest.line_protocol_keys import parse_field_key, parse_key
from kiln.ingest.line_protocol_scan import scan
from tests.conftest import NOW_MS

T_MS = NOW_MS - 60_000
T_NS = T_MS * 1_000_000


def run(catalog: AssetCatalog, body: str | bytes, **kw: object) -> LineDecoded:
    raw = body.encode() if isinstance(body, str) else body
    ent = catalog.enterprise_by_slug["acme-auto"]
    return decode(raw, catalog, enterprise_id=ent, now_ms=NOW_MS, **kw)  # type: ignore[arg-type]


def sid(catalog: AssetCatalog, equipment: str, signal: str) -> int:
    eid = catalog.equipment_id("acme-auto", equipment)
    assert eid is not None
    s = catalog.series_id(eid, signal)
    assert s is not None
    return s


def rows(d: LineDecoded) -> list[tuple[int, int, float]]:
    p = d.bundle.points
    return list(zip(p.series.tolist(), p.ts_ms.tolist(), p.value.tolist(), strict=True))


def problems(d: LineDecoded) -> list[tuple[int, int, str]]:
    return [(r.line, r.column, r.reason) for r in d.rejects]


def test_a_line_becomes_one_point_per_field(catalog: AssetCatalog) -> None:
    d = run(
        catalog,
        f"press-1,site=nanhai-1,line=tandem-a tonnage=8120.5,lube_temp=41i,stroke_rate=12u "
        f"{T_NS}\n"
        f"robot-1 j1_torque=-1.5e2 {T_NS + 1_000_000_000}\n",
    )
    assert d.rejects == []
    assert d.points == 2
    assert rows(d) == [
        (sid(catalog, "press-1", "tonnage"), T_MS, 8120.5),
        (sid(catalog, "press-1", "lube_temp"), T_MS, 41.0),
        (sid(catalog, "press-1", "stroke_rate"), T_MS, 12.0),
        (sid(catalog, "robot-1", "j1_torque"), T_MS + 1000, -150.0),
    ]


def test_every_boolean_spelling_is_one_or_zero(catalog: AssetCatalog) -> None:
    spellings = ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"]
    body = "".join(f"press-1 tonnage={b} {T_NS + k}\n" for k, b in enumerate(spellings))
    assert [v for _, _, v in rows(run(catalog, body))] == [1.0] * 5 + [0.0] * 5


def test_an_equipment_tag_names_the_equipment_and_other_tags_are_informational(
    catalog: AssetCatalog,
) -> None:
    d = run(catalog, f"presses,equipment=press-1,enterprise=acme-auto,x=y tonnage=1 {T_NS}")
    assert rows(d) == [(sid(catalog, "press-1", "tonnage"), T_MS, 1.0)]


@pytest.mark.parametrize(
    ("precision", "ts", "ms"),
    [
        ("ns", T_MS * 1_000_000 + 999_999, T_MS),
        ("n", T_MS * 1_000_000, T_MS),
        ("us", T_MS * 1000 + 999, T_MS),
        ("u", T_MS * 1000, T_MS),
        ("ms", T_MS, T_MS),
        ("s", T_MS // 1000, T_MS // 1000 * 1000),
        ("m", T_MS // 60_000, T_MS // 60_000 * 60_000),
        ("h", T_MS // 3_600_000, T_MS // 3_600_000 * 3_600_000),
    ],
)
def test_every_precision_lands_on_epoch_milliseconds(
    catalog: AssetCatalog, precision: str, ts: int, ms: int
) -> None:
    d = run(catalog, f"press-1 tonnage=1 {ts}", precision=precision)
    assert d.rejects == []
    assert d.bundle.points.ts_ms.tolist() == [ms]


def test_a_line_without_timestamp_takes_the_server_clock(catalog: AssetCatalog) -> None:
    d = run(catalog, "press-1 tonnage=1\npress-1 tonnage=2 \n")
    assert d.bundle.points.ts_ms.tolist() == [NOW_MS, NOW_MS]


def test_comments_blank_lines_and_crlf_are_skipped(catalog: AssetCatalog) -> None:
    body = (
        f"# header\r\n\r\npress-1 tonnage=1 {T_NS}\r\n   \n"
        f"  # indented comment\npress-1 tonnage=2 {T_NS}"
    )
    assert [v for _, _, v in rows(run(catalog, body))] == [1.0, 2.0]


def test_escapes_in_measurement_tags_and_field_keys() -> None:
    assert parse_key(rb"my\ press\,a,site\=x=nan\ hai\,1,k=a\\b") == (
        "my press,a",
        {"site=x": "nan hai,1", "k": "a\\b"},
    )
    assert parse_key(rb"m,k=c:\temp") == ("m", {"k": "c:\\temp"})  # a lone backslash stays
    assert parse_field_key(rb"lube\ temp\,\=x") == "lube temp,=x"


def test_escaped_separators_do_not_split_the_line() -> None:
    s = scan(b'm\\ 1,t=a\\ b\\,c f\\ 1=1,f2="x, y=\\"z\\"" 5\n')
    assert s.key.item(0) == b"m\\ 1,t=a\\ b\\,c"
    assert [s.field_key.item(i) for i in range(2)] == [b"f\\ 1", b"f2"]
    assert s.value.item(1) == b'"x, y=\\"z\\""'
    assert s.ts.item(0) == b"5"
    assert s.faults == []


def test_fast_and_careful_paths_read_the_same(catalog: AssetCatalog) -> None:
    plain = f"press-1,site=a tonnage=1.5,lube_temp=2i {T_NS}\n"
    careful = f"press-1,site=a\\ b tonnage=1.5,lube_temp=2i  {T_NS}\n"  # escape, two spaces
    assert rows(run(catalog, plain)) == rows(run(catalog, careful))


def test_a_quoted_string_is_refused_with_its_column(catalog: AssetCatalog) -> None:
    line = f'press-1 tonnage=1,stroke_rate="auto, fast" {T_NS}'
    d = run(catalog, f"press-1 tonnage=1\n{line}")
    assert problems(d) == [
        (
            2,
            line.index('"') + 1,
            "a string value; Kiln stores numbers only (float, 12i, 12u, true/false)",
        )
    ]
    assert not d.syntax
    assert len(d.bundle) == 0


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("press-1", 8, "expected a space and a field set after the measurement and tags"),
        ("press-1 tonnage", 16, "expected '=' after field key 'tonnage'"),
        ("press-1 =1", 9, "a field key is empty"),
        ("press-1 tonnage=", 17, "field 'tonnage' has no value"),
        ("press-1 tonnage=1,", 19, "expected '=' after field key ''"),
        ('press-1 tonnage="open', 17, "the string value of field 'tonnage' has no closing quote"),
        ('press-1 tonnage="a"x', 20, "expected ',' or a space after a string value"),
        ("press-1 tonnage=1 1 2", 21, "unexpected text after the timestamp"),
        ("press-1,site tonnage=1", 9, "tag 'site' has no '=' and value"),
        ("press-1,site= tonnage=1", 14, "tag 'site' has an empty value"),
        ("press-1,=x tonnage=1", 9, "a tag key is empty"),
        (",site=x tonnage=1", 1, "the measurement is empty"),
    ],
)
def test_a_syntax_error_names_line_and_column(
    catalog: AssetCatalog, line: str, column: int, reason: str
) -> None:
    d = run(catalog, f"press-1 tonnage=1 {T_NS}\n# ok\n{line}\n")
    assert problems(d) == [(3, column, reason)]
    assert d.syntax
    assert len(d.bundle) == 0


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("ghost tonnage=1", 1, "unknown equipment 'ghost' in enterprise 'acme-auto'"),
        ("kiln-1 firing_temp=1", 1, "unknown equipment 'kiln-1' in enterprise 'acme-auto'"),
        ("press-1 tonnage=1,nope=2", 19, "unknown signal 'nope' of 'press-1'"),
        ("press-1 tonnage=nan", 17, "'nan' is not a finite number"),
        ("press-1 tonnage=1e999", 17, "'1e999' is not a number (float, 12i, 12u or true/false)"),
        ("press-1 tonnage=0x10", 17, "'0x10' is not a number (float, 12i, 12u or true/false)"),
        ("press-1 tonnage=1.5i", 17, "'1.5i' is not a number (float, 12i, 12u or true/false)"),
        ("press-1 tonnage=-1u", 17, "'-1u' is not a number (float, 12i, 12u or true/false)"),
        ("press-1 tonnage=yes", 17, "'yes' is not a number (float, 12i, 12u or true/false)"),
        (
            "press-1 tonnage=1 12.5",
            19,
            "timestamp '12.5' is not an integer in the request's precision",
        ),
        (
            "press-1 tonnage=1 99999999999999999999",
            19,
            "timestamp '99999999999999999999' is not an integer in the request's precision",
        ),
        ("press-1 tonnage=1 1", 19, "timestamp 1 (ns) is before 2000-01-01"),
        (
            f"press-1 tonnage=1 {(NOW_MS + 3_600_000) * 1_000_000}",
            19,
            f"timestamp {(NOW_MS + 3_600_000) * 1_000_000} (ns) is more than 10 minutes ahead",
        ),
        (
            "press-1,enterprise=huamei-ceramics tonnage=1",
            1,
            "tag enterprise='huamei-ceramics'; this caller sends for 'acme-auto'",
        ),
    ],
)
def test_a_refused_value_names_line_and_column(
    catalog: AssetCatalog, line: str, column: int, reason: str
) -> None:
    d = run(catalog, f"press-1 tonnage=1 {T_NS}\n{line}\n")
    assert problems(d) == [(2, column, reason)]
    assert not d.syntax
    assert len(d.bundle) == 0


def test_a_device_token_limited_to_equipment_writes_for_those_only(
    catalog: AssetCatalog,
) -> None:
    press = catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    d = run(catalog, f"press-1 tonnage=1\nrobot-1 j1_torque=1 {T_NS}", equipment=frozenset({press}))
    assert problems(d) == [(2, 1, "'robot-1' is outside this token's equipment")]


def test_every_problem_is_counted_and_the_first_hundred_named_in_order(
    catalog: AssetCatalog,
) -> None:
    body = "".join(f"press-1 tonnage=x{k} {T_NS}\n" for k in range(250))
    d = run(catalog, "ghost y=1\n" + body)
    assert d.refused == 251
    assert len(d.rejects) == 100
    assert [r.line for r in d.rejects] == list(range(1, 101))


def test_more_values_than_a_batch_may_hold_is_refused_before_converting(
    catalog: AssetCatalog,
) -> None:
    with pytest.raises(TooManyValues, match="6 field values; at most 5"):
        run(catalog, "press-1 a=1,b=2,c=3\npress-1 a=1,b=2,c=3", max_values=5)


def test_an_empty_body_is_no_points(catalog: AssetCatalog) -> None:
    d = run(catalog, b"")
    assert d.rejects == []
    assert d.points == 0
    assert len(d.bundle) == 0
