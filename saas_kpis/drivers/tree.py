"""Load `drivers/driver_tree.yml` into typed nodes and check it against the metrics' meta.

Every metric a node names must exist in the semantic manifest. A node's `code` must equal the
`framework_code` of every listed metric that has one (and at least one must carry it); its `owner`
must equal the `owner` of every listed metric. A disagreement raises `DriverTreeError` naming the
node, the field and both values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import OWNER_TEAMS

TREE_PATH = Path("drivers") / "driver_tree.yml"  # in the project directory
TREE_FILE = REPO_ROOT / TREE_PATH
NODE_KEYS = {"id", "name", "code", "owner", "metrics", "drivers"}


class DriverTreeError(ValueError):
    """The driver tree file is malformed or disagrees with the semantic manifest."""


@dataclass(frozen=True)
class Node:
    """A success metric or a driver: what it is, its framework code and owner, its metrics."""

    id: str
    name: str
    code: str | None
    owner: str
    metrics: tuple[str, ...]
    drivers: tuple[Node, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.code} {self.name}" if self.code else self.name

    def walk(self, parents: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple[Node, ...]]]:
        """This node and every node under it, each with its ancestors (top first)."""
        yield self, parents
        for driver in self.drivers:
            yield from driver.walk((*parents, self))


@dataclass(frozen=True)
class DriverTree:
    primary: Node
    success_metrics: tuple[Node, ...]

    def walk(self) -> Iterator[tuple[Node, tuple[Node, ...]]]:
        yield from self.primary.walk()
        for node in self.success_metrics:
            yield from node.walk()

    def codes(self) -> set[str]:
        return {node.code for node, _ in self.walk() if node.code}

    def nodes_measured_by(self, metric: str) -> list[tuple[Node, tuple[Node, ...]]]:
        """The nodes that list `metric`, with their ancestors."""
        return [(node, parents) for node, parents in self.walk() if metric in node.metrics]


def _node(raw: Any, where: str) -> Node:
    if not isinstance(raw, Mapping):
        raise DriverTreeError(f"{where}: a node must be a mapping, got {raw!r}")
    unknown = set(raw) - NODE_KEYS
    missing = {"id", "name", "owner", "metrics"} - set(raw)
    if unknown or missing:
        raise DriverTreeError(
            f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
        )
    node_id = str(raw["id"])
    metrics = raw["metrics"]
    if not isinstance(metrics, list) or not metrics:
        raise DriverTreeError(f"node {node_id!r}: `metrics` must be a non-empty list")
    drivers = raw.get("drivers") or []
    if not isinstance(drivers, list):
        raise DriverTreeError(f"node {node_id!r}: `drivers` must be a list")
    return Node(
        id=node_id,
        name=str(raw["name"]),
        code=None if raw.get("code") is None else str(raw["code"]),
        owner=str(raw["owner"]),
        metrics=tuple(str(name) for name in metrics),
        drivers=tuple(
            _node(child, f"{where} > {node_id}.drivers[{i}]") for i, child in enumerate(drivers)
        ),
    )


def parse_tree(document: Any) -> DriverTree:
    """The tree of a parsed YAML document, structurally checked (no manifest needed)."""
    if not isinstance(document, Mapping) or document.get("version") != 1:
        raise DriverTreeError("the driver tree must be a mapping with `version: 1`")
    if "primary" not in document or not isinstance(document.get("success_metrics"), list):
        raise DriverTreeError("the driver tree needs `primary` and a `success_metrics` list")
    tree = DriverTree(
        primary=_node(document["primary"], "primary"),
        success_metrics=tuple(
            _node(raw, f"success_metrics[{i}]") for i, raw in enumerate(document["success_metrics"])
        ),
    )
    seen: set[str] = set()
    for node, _ in tree.walk():
        if node.id in seen:
            raise DriverTreeError(f"node id {node.id!r} is used twice")
        seen.add(node.id)
        if node.owner not in OWNER_TEAMS:
            raise DriverTreeError(
                f"node {node.id!r}: field owner is {node.owner!r}, "
                f"not one of {', '.join(OWNER_TEAMS)}"
            )
    return tree


def check_against_meta(tree: DriverTree, metas: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise DriverTreeError where the tree names an unknown metric or disagrees with its meta.

    `metas` maps each metric of the semantic manifest to its `meta`.
    """
    for node, _ in tree.walk():
        for metric in node.metrics:
            if metric not in metas:
                raise DriverTreeError(
                    f"node {node.id!r}: metric {metric!r} is not in the semantic manifest"
                )
            meta = metas[metric]
            meta_code = meta.get("framework_code")
            if meta_code is not None and meta_code != node.code:
                raise DriverTreeError(
                    f"node {node.id!r}: field code is {node.code!r} in the driver tree but "
                    f"{meta_code!r} in the meta (framework_code) of metric {metric!r}"
                )
            if meta.get("owner") != node.owner:
                raise DriverTreeError(
                    f"node {node.id!r}: field owner is {node.owner!r} in the driver tree but "
                    f"{meta.get('owner')!r} in the meta of metric {metric!r}"
                )
        if node.code is not None and not any(
            metas[metric].get("framework_code") == node.code for metric in node.metrics
        ):
            raise DriverTreeError(
                f"node {node.id!r}: field code is {node.code!r} in the driver tree but no "
                f"metric of the node has it in its meta (framework_code): "
                f"{', '.join(repr(metas[m].get('framework_code')) for m in node.metrics)}"
            )


def load_tree(
    metas: Mapping[str, Mapping[str, Any]] | None = None, path: Path = TREE_FILE
) -> DriverTree:
    """Read and check the driver tree; with `metas` (metric name -> meta), also against them."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DriverTreeError(f"{path}: not valid YAML: {error}") from error
    tree = parse_tree(document)
    if metas is not None:
        check_against_meta(tree, metas)
    return tree
