"""What names a cell: its resolved config, minus keys that later code added at the value that reproduces what
earlier code did.

A cell's id hashes its config, so a new config key (a new switch, say) would give every existing cell a new id and
orphan its results, checkpoints and half-finished runs, although nothing they compute has changed. Registering the
addition below keeps their ids: a key whose value equals its registered `legacy` value is left out of the hash,
while any other value (a user's override, or a new default that changes behaviour) enters it and names a new cell.
`tests/test_cell_identity.py` pins the ids of reference grids, so an unregistered addition fails the tests instead
of silently re-keying results. Hand-written: this is the project's own result schema.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Addition:
    """A config key added after cells existed. `path`: keys into `Cell.config` (a method's own keys sit under
    "method"); `legacy`: the value that behaves as the code did before the key existed; `methods`: only cells of
    these methods (empty: every cell that has the key)."""

    path: tuple[str, ...]
    legacy: Any
    methods: tuple[str, ...] = ()
    added: str = ""  # when and why, for the reader


ADDITIONS: tuple[Addition, ...] = (
    Addition(("demos_expert",), None, added="2026-12-03: demos from another expert kind; null = the suite default"),
    Addition(("method", "planner_entropy"), "action", methods=("iqmpc",),
             added="2026-12-04: IQ-MPC planner entropy term; 'action' = Algorithm 1 as before"),
    Addition(("method", "reward_latent_grad"), True, methods=("cdred",),
             added="2026-12-05: CDRED predictor loss into the latent; true = the joint objective as before"),
    Addition(("method", "obs_norm"), "none",
             added="2026-12-05: world-model agents' state normalisation; 'none' = raw states as before"),
)


def identity_config(config: dict[str, Any], method: str,
                    additions: tuple[Addition, ...] | None = None) -> dict[str, Any]:
    """`config` without the additions (default: `ADDITIONS`) that hold their legacy value (a copy; `config` is
    untouched)."""
    out = copy.deepcopy(config)
    for add in ADDITIONS if additions is None else additions:
        if add.methods and method not in add.methods:
            continue
        node = out
        for key in add.path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        last = add.path[-1]
        if isinstance(node, dict) and last in node and node[last] == add.legacy:
            del node[last]
    return out
