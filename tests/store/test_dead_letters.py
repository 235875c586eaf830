"""Dead letters: kept with reason and first bytes, scoped by enterprise, trimmed but counted."""

from __future__ import annotations

from kiln.domain.dead_letters import PAYLOAD_HEAD, DeadLetter
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS


def letter(i: int, enterprise: int | None, source: str = "kiln/acme-auto/x") -> DeadLetter:
    return DeadLetter(NOW_MS + i, "mqtt:plant", source, f"bad {i}", b"{oops" * 100, enterprise)


def test_letters_come_back_newest_first_with_reason_and_first_bytes(store: DuckDBStore) -> None:
    acme = store.catalog().enterprise_by_slug["acme-auto"]
    store.write_dead_letters([letter(0, acme), letter(1, acme)])
    rows = store.dead_letters(acme).to_pylist()
    assert [r["reason"] for r in rows] == ["bad 1", "bad 0"]
    assert rows[0]["source"] == "kiln/acme-auto/x"
    assert rows[0]["adapter"] == "mqtt:plant"
    assert rows[0]["payload"] == (b"{oops" * 100)[:PAYLOAD_HEAD]
    assert len(rows[0]["payload"]) == PAYLOAD_HEAD


def test_an_enterprise_sees_only_its_letters_and_none_means_unattributed(
    store: DuckDBStore,
) -> None:
    cat = store.catalog()
    acme, huamei = cat.enterprise_by_slug["acme-auto"], cat.enterprise_by_slug["huamei-ceramics"]
    store.write_dead_letters([letter(0, acme), letter(1, huamei), letter(2, None, "junk/topic")])
    assert [r["reason"] for r in store.dead_letters(acme).to_pylist()] == ["bad 0"]
    assert [r["reason"] for r in store.dead_letters(huamei).to_pylist()] == ["bad 1"]
    assert [r["source"] for r in store.dead_letters(None).to_pylist()] == ["junk/topic"]
    every = store.dead_letter_counts(None, every=True).to_pylist()
    assert sorted((r["enterprise_id"] or 0, r["count"]) for r in every) == sorted(
        [(acme, 1), (huamei, 1), (0, 1)]
    )


def test_old_letters_are_trimmed_but_every_one_is_counted(store: DuckDBStore) -> None:
    acme = store.catalog().enterprise_by_slug["acme-auto"]
    for start in range(0, 500, 50):
        store.write_dead_letters([letter(i, acme) for i in range(start, start + 50)], keep=100)
    kept = store.dead_letters(acme, limit=1000).to_pylist()
    assert 100 <= len(kept) <= 111  # trimmed in steps of a tenth of the cap
    assert kept[0]["reason"] == "bad 499"  # the newest survive
    counts = store.dead_letter_counts(acme).to_pylist()
    assert counts == [
        {
            "adapter": "mqtt:plant",
            "source": "kiln/acme-auto/x",
            "enterprise_id": acme,
            "count": 500,
            "last_ms": NOW_MS + 499,
            "last_reason": "bad 499",
        }
    ]


def test_paging_with_before_id_and_filtering_by_adapter(store: DuckDBStore) -> None:
    acme = store.catalog().enterprise_by_slug["acme-auto"]
    other = DeadLetter(NOW_MS, "opcua:cell", "ns=2;s=X", "wrong type", b"", acme)
    store.write_dead_letters([letter(i, acme) for i in range(5)] + [other])
    first = store.dead_letters(acme, adapter="mqtt:plant", limit=2).to_pylist()
    assert [r["reason"] for r in first] == ["bad 4", "bad 3"]
    rest = store.dead_letters(acme, adapter="mqtt:plant", before_id=first[-1]["id"]).to_pylist()
    assert [r["reason"] for r in rest] == ["bad 2", "bad 1", "bad 0"]
    assert [r["adapter"] for r in store.dead_letters(acme, adapter="opcua:cell").to_pylist()] == [
        "opcua:cell"
    ]
