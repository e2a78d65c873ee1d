"""A grid cell: (suite, task, method, seed, config) with a deterministic id and run directory."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from runner.identity import identity_config
from runner.io import canonical_json, sha256_bytes


@dataclass(frozen=True)
class Cell:
    """One training run. `config` is the fully resolved, hashed configuration (method preset + overrides +
    budget); `context` holds how to run it (device, threads, plug-in imports) and is not part of the id."""

    suite: str
    task: str
    method: str
    seed: int
    config: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def config_hash(self) -> str:
        return sha256_bytes(canonical_json(self.config).encode())

    @property
    def cell_id(self) -> str:
        """First 12 hex of sha256 over the canonical JSON of (suite, task, method, seed, config), where config
        leaves out keys added later at their legacy value (`runner.identity`)."""
        ident = {"suite": self.suite, "task": self.task, "method": self.method, "seed": int(self.seed),
                 "config": identity_config(self.config, self.method)}
        return sha256_bytes(canonical_json(ident).encode())[:12]

    def run_dir(self, results_root: str | Path) -> Path:
        return Path(results_root) / self.suite / self.task / self.method / self.cell_id

    @property
    def label(self) -> str:
        c = self.config
        extra = "".join(f" {k}={c[k]}" for k in ("n_demos", "p_tremble", "eval_p_tremble", "obs") if k in c)
        return f"{self.suite}/{self.task}/{self.method} seed={self.seed}{extra} [{self.cell_id}]"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Cell:
        return cls(**json.loads(text))
