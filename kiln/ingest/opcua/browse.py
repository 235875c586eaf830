"""Browsing a server in batches: the children of many nodes per Browse call, and the variables
of configured folders as targets (browse name → signal name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.uaerrors import UaError

from kiln.config_ingest import OpcUaFolder
from kiln.ingest.opcua.targets import Target

NODES_PER_BROWSE = 500  # servers cap MaxNodesPerBrowse; 500 is within every limit we know of
MAX_TREE_NODES = 5_000  # a subtree larger than this is not a robot: stop browsing
HIERARCHICAL = ua.NodeId(ua.Int32(ObjectIds.HierarchicalReferences))
HAS_PROPERTY = ua.NodeId(ua.Int32(ObjectIds.HasProperty))
PROPERTY_TYPE = ua.NodeId(ua.Int32(ObjectIds.PropertyType))


@dataclass(frozen=True, slots=True)
class Child:
    """A node reached from its parent over a hierarchical reference."""

    node: str  # node id as text
    name: str  # browse name without its namespace index
    node_class: ua.NodeClass
    reference: ua.NodeId  # the reference type that leads here (HasComponent, Organizes, Moves…)
    is_property: bool  # a HasProperty child (EngineeringUnits, EURange…), never a signal

    @property
    def is_variable(self) -> bool:
        """A variable that may carry a signal (properties describe, they do not measure)."""
        return self.node_class == ua.NodeClass.Variable and not self.is_property

    @property
    def is_object(self) -> bool:
        """An object (folders included) that may hold further nodes."""
        return self.node_class == ua.NodeClass.Object


Browsed = list[Child] | str  # the children, or why the node could not be browsed


def parse_node_id(text: str) -> ua.NodeId | str:
    """The node id, or a message saying why the text is not one."""
    try:
        return ua.NodeId.from_string(text)
    except (ValueError, UaError):
        return f"{text!r} is not a node id (like ns=2;s=Press1.Tonnage or ns=3;i=1001)"


async def children(client: Client, nodes: Sequence[str]) -> list[Browsed]:
    """The hierarchical children of each node, asking for many nodes per Browse call."""
    out: list[Browsed] = []
    for start in range(0, len(nodes), NODES_PER_BROWSE):
        chunk = nodes[start : start + NODES_PER_BROWSE]
        parsed = [parse_node_id(text) for text in chunk]
        ids = [p for p in parsed if isinstance(p, ua.NodeId)]
        results = iter(await _browse(client, ids) if ids else [])
        out.extend(p if isinstance(p, str) else next(results) for p in parsed)
    return out


async def _browse(client: Client, ids: list[ua.NodeId]) -> list[Browsed]:
    params = ua.BrowseParameters()
    params.RequestedMaxReferencesPerNode = 0
    params.NodesToBrowse = [
        ua.BrowseDescription(
            NodeId=nid,
            BrowseDirection=ua.BrowseDirection.Forward,
            ReferenceTypeId=HIERARCHICAL,
            IncludeSubtypes=True,
            NodeClassMask=0,
            ResultMask=ua.BrowseResultMask.All,
        )
        for nid in ids
    ]
    results = await client.uaclient.browse(params)
    out: list[Browsed] = []
    for nid, result in zip(ids, results, strict=True):
        if not result.StatusCode.is_good():
            out.append(f"{nid.to_string()} cannot be browsed: {result.StatusCode.name}")
            continue
        refs = list(result.References)
        point = result.ContinuationPoint
        while point:  # the server split a long answer; fetch the rest
            more = await client.uaclient.browse_next(
                ua.BrowseNextParameters(ReleaseContinuationPoints=False, ContinuationPoints=[point])
            )
            if not more or not more[0].StatusCode.is_good():
                break
            refs.extend(more[0].References)
            point = more[0].ContinuationPoint
        out.append([_child(r) for r in refs])
    return out


def _child(ref: ua.ReferenceDescription) -> Child:
    prop = ref.ReferenceTypeId == HAS_PROPERTY or ref.TypeDefinition == PROPERTY_TYPE
    return Child(
        ua.NodeId.to_string(ref.NodeId),  # without the srv=/nsu= of an ExpandedNodeId
        ref.BrowseName.Name or "",
        ref.NodeClass,
        ref.ReferenceTypeId,
        prop,
    )


async def subtree(client: Client, root: str, *, depth: int) -> dict[str, list[Child]]:
    """Children of ``root`` and of every object below it, ``depth`` levels deep (one Browse
    call per level); variables are not expanded."""
    tree: dict[str, list[Child]] = {}
    level = [root]
    for _ in range(depth):
        if not level or len(tree) > MAX_TREE_NODES:
            break
        found = await children(client, level)
        following: list[str] = []
        for node, kids in zip(level, found, strict=True):
            tree[node] = kids if isinstance(kids, list) else []
            following.extend(c.node for c in tree[node] if c.is_object and c.node not in tree)
        level = list(dict.fromkeys(following))
    return tree


def folder_variables(folder: OpcUaFolder, kids: list[Child]) -> list[Target]:
    """A folder's variables as targets of its equipment, named by their browse names."""
    return [Target(c.node, folder.equipment, c.name, "folder") for c in kids if c.is_variable]
