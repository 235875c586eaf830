"""What the primary host knows of one edge node, and how its messages become bundles.

No I/O here: the host hands in decoded messages, the catalogue and the clocks through an
``Effects`` collector, and afterwards commits the bundles, keeps the dead letters and sends the
rebirth request that the collector gathered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kiln.domain.batches import Bundle, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest.sparkplug.codec import Birth, MetricTable
from kiln.ingest.sparkplug.columns import DataPayload, GroupColumns, decode_columns, decode_group
from kiln.ingest.sparkplug.mapping import ScopePlan, merge_plans, plan_scope, to_bundle
from kiln.ingest.sparkplug.recorded import Recorded
from kiln.ingest.sparkplug.session import NodeSession, SessionRules

STALE_REASON = "sparkplug offline"


@dataclass(slots=True)
class Letter:
    """A refused message, before it becomes a DeadLetter."""

    source: str  # the topic
    reason: str
    payload: bytes
    enterprise_id: int | None


@dataclass(frozen=True, slots=True)
class EdgeNodeStatus:
    """What the host knows of one edge node, for the API."""

    group: str
    node: str
    online: bool
    stale: bool  # its data is stale: NDEATH, never born, or the host lost the broker
    bd_seq: int | None
    devices: dict[str, bool]  # device id -> online
    last_seen_ms: int | None
    rebirths_requested: int
    sequence_gaps: int


@dataclass(slots=True)
class Effects:
    """What handling messages produced, and what it needs to know (catalogue, clocks)."""

    catalog: AssetCatalog
    now_ms: int  # the platform clock: staleness and timestamp checks
    mono_ms: int  # a monotonic clock: reorder timeouts and the rebirth rate limit
    recorded: Recorded
    bundles: list[Bundle] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    rebirths: list[EdgeNode] = field(default_factory=list)
    dirty: set[EdgeNode] = field(default_factory=set)  # nodes with DATA waiting for flush()


@dataclass(frozen=True, slots=True)
class Held:
    """A sequenced message (DBIRTH, NDATA, DDATA, DDEATH) waiting to be applied."""

    verb: str
    device: str
    topic: str
    raw: bytes
    body: Birth | DataPayload


@dataclass(slots=True)
class _Scope:
    table: MetricTable
    plan: ScopePlan


@dataclass(frozen=True, slots=True)
class _Merged:
    """Every scope of a node as one table and plan."""

    table: MetricTable
    plan: ScopePlan
    number: dict[str, int]  # scope key -> its number
    scope_of: NDArray[np.int64]  # merged table position -> scope number


def _payload(held: Held) -> DataPayload:
    assert isinstance(held.body, DataPayload)
    return held.body


class EdgeNode:
    """One edge node: its session, and the metric tables and plans of its BIRTHs."""

    def __init__(self, group: str, node: str, enterprise: str, rules: SessionRules) -> None:
        self.group, self.node, self.enterprise = group, node, enterprise
        self.session: NodeSession[Held] = NodeSession(rules)
        self.scopes: dict[str, _Scope] = {}  # "" = the node, else a device id
        self._pending: list[Held] = []  # applied DATA, not yet decoded (see flush)
        self._merged: _Merged | bool | None = False  # False: not built since scopes changed
        self.last_seen_ms: int | None = None
        self.catalog_seen: AssetCatalog | None = None

    def status(self, *, host_online: bool) -> EdgeNodeStatus:
        """What the host knows of the node (all of it stale while the host is offline)."""
        online = self.session.online and host_online
        return EdgeNodeStatus(
            self.group,
            self.node,
            online,
            not online,
            self.session.bd_seq,
            dict(self.session.devices),
            self.last_seen_ms,
            self.session.rebirths,
            self.session.gaps,
        )

    # -- node-level messages ---------------------------------------------------------------

    def nbirth(self, birth: Birth, topic: str, raw: bytes, fx: Effects) -> None:
        """Start the session over: reset the tables, devices wait for their DBIRTH."""
        for held in self.session.birth(seq=birth.seq or 0, bd_seq=birth.bd_seq):
            self.apply(held, fx)
        self.flush(fx)  # what came before is read with the tables it was sent under
        self.scopes.clear()
        self._merged = False
        self._scope("", birth, topic, raw, fx)

    def ndeath(self, bd_seq: int | None, fx: Effects) -> bool:
        """An NDEATH: if it is the current session's, everything of the node goes stale."""
        known = [eq for eq in self._equipment() if eq is not None]
        current, held = self.session.death(bd_seq=bd_seq)
        if not current:
            return False
        for h in held:
            self.apply(h, fx)
        self.flush(fx)
        self._stale(known, fx)
        return True

    def lost(self, fx: Effects) -> None:
        """The host lost the broker: the node's data is stale until its next NBIRTH."""
        if not self.session.online:
            return
        for held in self.session.lost():
            self.apply(held, fx)
        self.flush(fx)
        self._stale([eq for eq in self._equipment() if eq is not None], fx)

    # -- sequenced messages ----------------------------------------------------------------

    def sequenced(self, held: Held, seq: int, fx: Effects) -> None:
        """A DBIRTH/NDATA/DDATA/DDEATH: apply it (and whatever it releases) in seq order."""
        if not self.session.born:
            why = f"{held.verb} before the node's NBIRTH"
            self.refuse(held.topic, why, held.raw, fx, rebirth=True)
            return
        for ready in self.session.sequence(seq, held, now_ms=fx.mono_ms):
            self.apply(ready, fx)
        if self.session.held:
            self.expire(fx)  # gives up at once if too many are held

    def expire(self, fx: Effects) -> None:
        """Give up on a gap that has outlived the reorder timeout; ask for a rebirth."""
        late = self.session.expire(now_ms=fx.mono_ms)
        if late is None:
            return
        for held in late:
            self.apply(held, fx)
        self.want_rebirth(fx)

    def apply(self, held: Held, fx: Effects) -> None:
        """Apply one message in its turn."""
        if held.verb != "DDATA" and held.verb != "NDATA":
            self.flush(fx)  # the data before it, with the tables before it
        if held.verb == "DBIRTH":
            assert isinstance(held.body, Birth)
            self.session.device_birth(held.device)
            self._scope(held.device, held.body, held.topic, held.raw, fx)
            return
        if held.verb == "DDEATH":
            scope = self.scopes.get(held.device)
            if self.session.device_death(held.device) and scope is not None:
                self._stale([scope.plan.equipment_id], fx)
            return
        self._data(held, fx)

    def _data(self, held: Held, fx: Effects) -> None:
        scope = self.scopes.get(held.device)
        if scope is None or (held.device and not self.session.devices.get(held.device)):
            why = f"data from device {held.device!r} before its DBIRTH"
            self.refuse(held.topic, why, held.raw, fx, rebirth=True)
            return
        # Decoding waits for flush(): the messages applied together are decoded together.
        self._pending.append(held)
        fx.dirty.add(self)

    def flush(self, fx: Effects) -> None:
        """Decode the applied DATA into bundles and letters: all of the node's at once when the
        columns line up (aliases are unique across a node), else one scope at a time."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        if pending[0].device != pending[-1].device or len({h.device for h in pending}) > 1:
            merged = self._merged_scopes()
            if merged is not None and self._flush_merged(pending, merged, fx):
                return
        by_scope: dict[str, list[Held]] = {}
        for h in pending:
            by_scope.setdefault(h.device, []).append(h)
        for device, group in by_scope.items():
            self._flush_scope(self.scopes[device], group, fx)

    def _flush_scope(self, scope: _Scope, group: list[Held], fx: Effects) -> None:
        decoded = decode_group([_payload(h) for h in group], scope.table)
        self._deliver(scope.plan, decoded, group, fx)

    def _flush_merged(self, pending: list[Held], merged: _Merged, fx: Effects) -> bool:
        decoded = decode_columns([_payload(h) for h in pending], merged.table)
        if decoded is None:
            return False
        scope_of_message = np.array([merged.number[h.device] for h in pending], dtype=np.int64)
        rows = decoded.columns.index
        if np.any(merged.scope_of[rows] != scope_of_message[decoded.message]):
            return False  # an alias of another device: the scope-wise path names it
        self._deliver(merged.plan, decoded, pending, fx)
        return True

    def _deliver(
        self, plan: ScopePlan, decoded: GroupColumns, group: list[Held], fx: Effects
    ) -> None:
        bundle, problems = to_bundle(
            plan, decoded.columns, now_ms=fx.now_ms, message=decoded.message
        )
        self._keep(bundle, fx, birth=False)
        refused = [(k, str(err), True) for k, err in decoded.errors.items()]
        refused += [(k, "; ".join(texts), False) for k, texts in problems.items()]
        for k, why, rebirth in sorted(refused):
            self.refuse(group[k].topic, why, group[k].raw, fx, rebirth=rebirth)

    def _merged_scopes(self) -> _Merged | None:
        if self._merged is False:
            keys = list(self.scopes)
            scopes = [self.scopes[k] for k in keys]
            table = MetricTable.merged([s.table for s in scopes]) if scopes else None
            self._merged = None
            if table is not None:
                sizes = [len(s.table) for s in scopes]
                self._merged = _Merged(
                    table,
                    merge_plans([s.plan for s in scopes]),
                    {k: i for i, k in enumerate(keys)},
                    np.repeat(np.arange(len(keys), dtype=np.int64), sizes),
                )
        return self._merged if isinstance(self._merged, _Merged) else None

    def _keep(self, bundle: Bundle, fx: Effects, *, birth: bool) -> None:
        points = fx.recorded.points(bundle.points, birth=birth)
        states = bundle.states
        if len(states):
            states = fx.recorded.states(states, birth=birth, now_ms=fx.now_ms)
        if points is not bundle.points or states is not bundle.states:
            bundle = Bundle(points, states, bundle.counts)
        if len(bundle):
            fx.bundles.append(bundle)

    # -- plans, staleness, refusals --------------------------------------------------------

    def _scope(self, device: str, birth: Birth, topic: str, raw: bytes, fx: Effects) -> None:
        plan = plan_scope(fx.catalog, self.enterprise, device or self.node, birth.table)
        self.scopes[device] = _Scope(birth.table, plan)
        self._merged = False
        self.catalog_seen = fx.catalog
        bundle, problems = to_bundle(plan, birth.columns, now_ms=fx.now_ms, birth=True)
        self._keep(bundle, fx, birth=True)
        said = problems.get(0, [])
        if plan.unmapped:
            listed = "; ".join(f"{name}: {why}" for name, why in list(plan.unmapped.items())[:20])
            more = f" (and {len(plan.unmapped) - 20} more)" if len(plan.unmapped) > 20 else ""
            said.insert(0, f"metrics not stored: {listed}{more}")
        if said:
            self.refuse(topic, "; ".join(said), raw, fx)

    def replan(self, catalog: AssetCatalog) -> None:
        """Resolve every BIRTH again against a changed catalogue (assets were registered)."""
        for key, scope in self.scopes.items():
            scope.plan = plan_scope(catalog, self.enterprise, key or self.node, scope.table)
        self.catalog_seen = catalog
        self._merged = False

    def _equipment(self) -> list[int | None]:
        return [s.plan.equipment_id for s in self.scopes.values()]

    def _stale(self, equipment: Sequence[int | None], fx: Effects) -> None:
        eq = sorted({e for e in equipment if e is not None})
        fx.recorded.offline(eq, fx.now_ms)
        if eq:
            fx.bundles.append(
                Bundle(
                    states=StateBatch.of(
                        eq,
                        np.full(len(eq), fx.now_ms),
                        np.full(len(eq), int(EquipmentState.UNKNOWN)),
                        [STALE_REASON] * len(eq),
                    )
                )
            )

    def refuse(
        self, topic: str, reason: str, raw: bytes, fx: Effects, *, rebirth: bool = False
    ) -> None:
        """Keep a refused message as a dead letter; ask for a rebirth if one may cure it."""
        ent = fx.catalog.enterprise_by_slug.get(self.enterprise)
        fx.letters.append(Letter(topic, reason, raw, ent))
        if rebirth:
            self.want_rebirth(fx)

    def want_rebirth(self, fx: Effects) -> None:
        """Ask for a rebirth unless one is outstanding or was asked for too recently."""
        if self.session.want_rebirth(now_ms=fx.mono_ms):
            fx.rebirths.append(self)
