"""Losing the server: restarts, endpoints that do not answer, settings that cannot work."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from kiln.ingest.opcua.client import OpcUaAdapter
from tests.conftest import NOW_MS

from .conftest import Plant, Watch, eventually, free_port, running, settings


async def test_after_a_server_restart_the_adapter_resubscribes_and_loses_nothing_new(
    watch: Watch,
) -> None:
    port = free_port()
    plant = Plant(port)
    await plant.start()
    adapter = OpcUaAdapter(settings(plant.endpoint))
    tonnage = watch.series("press-1", "tonnage")
    t = NOW_MS - 100_000
    try:
        async with running(adapter, watch):
            await watch.until("the first session", lambda: bool(watch.received(tonnage)))
            for i in range(3):
                await plant.write("tonnage", 7000.0 + i, t + i)
            await watch.until("values before the restart", lambda: t + 2 in watch.received(tonnage))
            await plant.stop()
            await eventually("a reconnect attempt", lambda: adapter.attempts >= 2)
            plant = Plant(port)  # a new process: new address space, no sessions
            await plant.start()
            # Written before or after the adapter is back: either way it must arrive (as the
            # current value of the new subscription, or as a change).
            await plant.write("tonnage", 7500.0, t + 1000)
            await watch.until(
                "the value from the restart", lambda: t + 1000 in watch.received(tonnage)
            )
            for i in range(1, 6):
                await plant.write("tonnage", 7500.0 + i, t + 1000 + i)
            await watch.until("values after it", lambda: t + 1005 in watch.received(tonnage))
    finally:
        await plant.stop()
    stored = watch.stored("press-1", "tonnage", t)
    assert stored == {
        **{t + i: 7000.0 + i for i in range(3)},
        **{t + 1000 + i: 7500.0 + i for i in range(6)},
    }
    assert adapter.sessions == 2


async def test_an_unreachable_endpoint_is_retried_until_the_server_comes(watch: Watch) -> None:
    port = free_port()
    adapter = OpcUaAdapter(settings(f"opc.tcp://127.0.0.1:{port}/plant", reconnect_max_s=0.5))
    tonnage = watch.series("press-1", "tonnage")
    plant = Plant(port)
    try:
        async with running(adapter, watch) as task:
            started = time.monotonic()
            await eventually("three attempts", lambda: adapter.attempts >= 3)
            # 0.5 s after the first failure, then every 0.5 s (the cap): no busy loop
            assert time.monotonic() - started >= 0.9
            assert not task.done()
            assert "ConnectionRefused" in adapter.last_error or "Errno 111" in adapter.last_error
            assert adapter.sessions == 0
            await plant.start()
            await watch.until("values once it is up", lambda: bool(watch.received(tonnage)))
    finally:
        await plant.stop()
    assert adapter.sessions == 1
    # An unreachable server is logged, not dead-lettered: the only letter is the plant's 'serial'.
    assert [x["source"] for x in watch.kept_letters()] == [Plant.node("serial")]


async def test_cancelling_while_the_server_is_down_ends_promptly(watch: Watch) -> None:
    adapter = OpcUaAdapter(settings(f"opc.tcp://127.0.0.1:{free_port()}/x", reconnect_max_s=60))
    async with running(adapter, watch):  # running() asserts the task ends within 3 s
        await eventually("a failed attempt", lambda: adapter.last_error != "")


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"security_policy": "Basic256Sha256"}, "must both be None or both be set"),
        ({"security_mode": "Sign"}, "must both be None or both be set"),
        (
            {"security_policy": "Basic256Sha256", "security_mode": "SignAndEncrypt"},
            "needs certificate and private_key",
        ),
    ],
)
def test_security_settings_that_cannot_work_are_refused(
    overrides: dict[str, str], why: str
) -> None:
    with pytest.raises(ValidationError, match=why):
        settings("opc.tcp://127.0.0.1:4840", **overrides)
