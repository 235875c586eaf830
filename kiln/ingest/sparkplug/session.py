"""The state a primary host keeps per Sparkplug edge node (domain.md 3.3 and 3.4).

Pure: time comes in as ``now_ms`` (a monotonic clock in milliseconds) and messages as opaque
items; the session says which items to apply and in what order, and when to ask for a rebirth.
The host keeps the metric tables and does the applying.

The worked example of domain.md 3.4, with the session holding message names::

    >>> s = NodeSession(SessionRules(reorder_timeout_ms=2_000))
    >>> s.birth(seq=0, bd_seq=7)
    []
    >>> [s.sequence(q, f"msg{q}", now_ms=0) for q in (1, 2, 3)]
    [['msg1'], ['msg2'], ['msg3']]
    >>> s.sequence(5, "msg5", now_ms=100)  # 4 is missing: hold 5, start the timer
    []
    >>> s.sequence(4, "msg4", now_ms=900)  # the gap fills in time: apply 4 then 5
    ['msg4', 'msg5']
    >>> s.sequence(7, "msg7", now_ms=1_000), s.expire(now_ms=2_999), s.expire(now_ms=3_000)
    ([], None, ['msg7'])
    >>> s.want_rebirth(now_ms=3_000), s.want_rebirth(now_ms=3_001)  # one at a time
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

SEQ_MOD = 256  # seq and bdSeq run 0..255 and wrap to 0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SessionRules:
    """How long to wait for a missing message, and how often to ask for a rebirth."""

    reorder_timeout_ms: int = 2_000  # domain.md 3.4: a gap not filled in 2 s is a loss
    rebirth_every_ms: int = 5_000  # at most one rebirth request per node in this time
    max_held: int = 128  # messages held behind a gap before giving up on it at once


class NodeSession(Generic[T]):
    """bdSeq, the next expected seq, the reorder buffer, devices, and rebirth decisions."""

    def __init__(self, rules: SessionRules | None = None) -> None:
        self.rules = rules or SessionRules()
        self.born = False  # a current NBIRTH is in force: DATA can be read
        self.online = False  # False after NDEATH (or a lost host connection): data is stale
        self.bd_seq: int | None = None
        self.expected: int | None = None
        self.devices: dict[str, bool] = {}  # device id -> online (born since the last NBIRTH)
        self.rebirth_pending = False  # requested and not yet answered by an NBIRTH
        self.rebirths = 0  # rebirth requests made
        self.gaps = 0  # sequence gaps seen
        self._held: dict[int, list[T]] = {}
        self._held_count = 0
        self._gap_since_ms: int | None = None
        self._rebirth_ms: int | None = None

    # -- node lifecycle ----------------------------------------------------------------------

    def birth(self, *, seq: int, bd_seq: int | None) -> list[T]:
        """NBIRTH: start the session over from its seq. Returns the messages still held from
        before, in order, for the caller to apply first (they belong to the old tables)."""
        left = self._release()
        self.born = self.online = True
        self.bd_seq = bd_seq
        self.expected = (seq + 1) % SEQ_MOD
        self.devices = dict.fromkeys(self.devices, False)  # stale until their DBIRTH
        self.rebirth_pending = False
        return left

    def death(self, *, bd_seq: int | None) -> tuple[bool, list[T]]:
        """NDEATH: (True, held messages to apply) if its bdSeq is the current session's; a late
        NDEATH of an earlier session, or a second one, is ignored: (False, [])."""
        if not self.online or bd_seq != self.bd_seq:
            return False, []
        left = self._release()
        self._end()
        return True, left

    def lost(self) -> list[T]:
        """The host lost its broker connection: everything is stale until the next NBIRTH.
        Returns the held messages (they arrived before the loss) in order."""
        left = self._release()
        self._end()
        return left

    def _end(self) -> None:
        self.born = self.online = False
        self.expected = None
        self.devices = dict.fromkeys(self.devices, False)

    # -- devices -------------------------------------------------------------------------------

    def device_birth(self, device: str) -> None:
        """DBIRTH applied: the device is online."""
        self.devices[device] = True

    def device_death(self, device: str) -> bool:
        """DDEATH applied: the device is offline; True if it was online."""
        was = self.devices.get(device, False)
        self.devices[device] = False
        return was

    # -- sequence ------------------------------------------------------------------------------

    def sequence(self, seq: int, item: T, *, now_ms: int) -> list[T]:
        """A DBIRTH, NDATA, DDATA or DDEATH of a born node: the messages now ready, in order;
        [] while it waits behind a gap (the reorder timer starts with the first one held)."""
        if not self.born or self.expected is None:
            raise RuntimeError("sequence() before birth(): the caller requests a rebirth")
        if seq != self.expected:
            self._held.setdefault(seq % SEQ_MOD, []).append(item)
            self._held_count += 1
            if self._gap_since_ms is None:
                self._gap_since_ms = now_ms
                self.gaps += 1
            return []
        ready = [item]
        self.expected = (seq + 1) % SEQ_MOD
        while self.expected in self._held:
            items = self._held.pop(self.expected)
            self._held_count -= len(items)
            ready.extend(items)
            self.expected = (self.expected + 1) % SEQ_MOD
        if not self._held:
            self._gap_since_ms = None
        return ready

    @property
    def held(self) -> int:
        """Messages waiting behind a gap."""
        return self._held_count

    def deadline_ms(self) -> int | None:
        """When the current gap times out (None without a gap)."""
        if self._gap_since_ms is None:
            return None
        return self._gap_since_ms + self.rules.reorder_timeout_ms

    def expire(self, *, now_ms: int) -> list[T] | None:
        """Give up on a gap older than the reorder timeout (or holding too many messages):
        return the held messages in seq order, to apply as they are, and continue after the
        last; None if there is nothing to give up yet. The caller requests a rebirth."""
        deadline = self.deadline_ms()
        if deadline is None or (now_ms < deadline and self._held_count < self.rules.max_held):
            return None
        return self._release()

    def _release(self) -> list[T]:
        if not self._held:
            return []
        base = self.expected if self.expected is not None else min(self._held)
        order = sorted(self._held, key=lambda s: (s - base) % SEQ_MOD)
        out = [item for s in order for item in self._held[s]]
        self.expected = (order[-1] + 1) % SEQ_MOD
        self._held.clear()
        self._held_count = 0
        self._gap_since_ms = None
        return out

    # -- rebirth -------------------------------------------------------------------------------

    def want_rebirth(self, *, now_ms: int) -> bool:
        """Whether to send a rebirth request now. At most one is outstanding and at most one
        goes out per ``rebirth_every_ms``; an unanswered one may be repeated after that."""
        last = self._rebirth_ms
        if last is not None and now_ms - last < self.rules.rebirth_every_ms:
            return False
        self._rebirth_ms = now_ms
        self.rebirth_pending = True
        self.rebirths += 1
        return True
