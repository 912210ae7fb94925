"""The driver tree and "why did a metric move".

`drivers/driver_tree.yml` holds the KPI frameworks' hierarchy (success metrics, their drivers and
the metrics that measure them); `tree` loads and validates it against the semantic manifest.
`decompose` is the exact change arithmetic (formula terms, segment mix and rate effects), `explain`
asks the semantic layer for the values and applies it, `render` prints the result, and
`python -m saas_kpis.drivers explain --metric M --period P` is the command.
"""

from saas_kpis.drivers.tree import DriverTree, DriverTreeError, Node, load_tree

__all__ = ["DriverTree", "DriverTreeError", "Node", "load_tree"]
