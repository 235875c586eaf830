"""Property tests: what the official client encodes, Kiln decodes to the same points; keys with
any escapes read back as written; the fast and careful paths agree."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from kiln.domain.catalog import AssetCatalog
from kiln.ingest.line_protocol import decode
from kiln.ingest.line_protocol_keys import parse_field_key, parse_key
from kiln.ingest.line_protocol_scan import scan
from tests.conftest import NOW_MS

SIGNALS = {
    "press-1": ["tonnage", "lube_temp", "stroke_rate"],
    "robot-1": ["j1_torque", "j2_torque"],
}
# The client escapes ',', '=' and space; it leaves backslashes and writes newlines as "\n", so
# those are left out here (their escapes are tested on Kiln's own reader below).
TEXT = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\\"),
    min_size=1,
    max_size=12,
)
VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**53), 2**53),
    st.booleans(),
)


@st.composite
def points(draw: st.DrawFn) -> tuple[Point, str, str, int, float]:
    equipment = draw(st.sampled_from(sorted(SIGNALS)))
    signal = draw(st.sampled_from(SIGNALS[equipment]))
    value = draw(VALUES)
    ts_ns = draw(st.integers((NOW_MS - 86_400_000) * 1_000_000, NOW_MS * 1_000_000))
    p = Point(equipment).field(signal, value).time(ts_ns, WritePrecision.NS)
    for k, v in draw(st.dictionaries(TEXT, TEXT, max_size=3)).items():
        if k not in ("equipment", "enterprise"):
            p = p.tag(k, v)
    return p, equipment, signal, ts_ns // 1_000_000, float(value)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(points(), min_size=1, max_size=30))
def test_what_the_official_client_writes_is_decoded_exactly(
    catalog: AssetCatalog, drawn: list[tuple[Point, str, str, int, float]]
) -> None:
    body = "\n".join(p.to_line_protocol() for p, *_ in drawn).encode()
    d = decode(body, catalog, enterprise_id=catalog.enterprise_by_slug["acme-auto"], now_ms=NOW_MS)
    assert d.rejects == []
    expected = []
    for _, equipment, signal, ts_ms, value in drawn:
        eid = catalog.equipment_id("acme-auto", equipment)
        assert eid is not None
        expected.append((catalog.series_id(eid, signal), ts_ms, value))
    got = d.bundle.points
    assert list(zip(got.series.tolist(), got.ts_ms.tolist(), got.value.tolist(), strict=True)) == (
        expected
    )


def escape(text: str, special: str) -> str:
    out = text.replace("\\", "\\\\")
    for c in special:
        out = out.replace(c, "\\" + c)
    return out


ANY_TEXT = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r"), min_size=1, max_size=12
)


@settings(max_examples=150, deadline=None)
@given(
    ANY_TEXT,
    st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3),
    st.lists(ANY_TEXT, min_size=1, max_size=3, unique=True),
)
def test_keys_with_any_escapes_read_back_as_written(
    measurement: str, tags: dict[str, str], fields: list[str]
) -> None:
    key = ",".join(
        [escape(measurement, ", ")]
        + [f"{escape(k, ',= ')}={escape(v, ',= ')}" for k, v in tags.items()]
    )
    if measurement.startswith(("#", " ", "\t")) or key.startswith(("#", "\t")):
        return  # a comment, or leading whitespace that the reader skips
    line = key + " " + ",".join(f"{escape(f, ',= ')}={k}" for k, f in enumerate(fields)) + " 7"
    s = scan(line.encode())
    assert s.faults == []
    assert parse_key(s.key.item(0)) == (measurement, tags)
    assert [parse_field_key(s.field_key.item(i)) for i in range(len(fields))] == fields
    assert s.ts.item(0) == b"7"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(points(), min_size=1, max_size=20), st.integers(0, 19))
def test_a_line_sent_down_the_careful_path_reads_as_on_the_fast_one(
    catalog: AssetCatalog, drawn: list[tuple[Point, str, str, int, float]], which: int
) -> None:
    lines = [p.to_line_protocol() for p, *_ in drawn]
    careful = list(lines)
    k = which % len(lines)
    careful[k] = careful[k].replace(" ", "  ", 1) if "\\" not in careful[k] else careful[k]
    ent = catalog.enterprise_by_slug["acme-auto"]
    a = decode("\n".join(lines).encode(), catalog, enterprise_id=ent, now_ms=NOW_MS)
    b = decode("\n".join(careful).encode(), catalog, enterprise_id=ent, now_ms=NOW_MS)
    assert a.rejects == b.rejects == []
    pa_, pb = a.bundle.points, b.bundle.points
    assert sorted(
        zip(pa_.series.tolist(), pa_.ts_ms.tolist(), pa_.value.tolist(), strict=True)
    ) == (sorted(zip(pb.series.tolist(), pb.ts_ms.tolist(), pb.value.tolist(), strict=True)))
