"""The in-memory results container shared by every analysis step: a tidy frame, a cell ledger and load problems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

# Columns of the tidy frame (one row per logged scalar).
FRAME_COLUMNS = [
    "source", "suite", "task", "method", "variant", "seed", "cell_id",
    "agent_step", "env_step", "metric", "value", "config_hash", "git_commit",
]
# Columns of the cell ledger (one row per grid cell, whatever its state).
CELL_COLUMNS = [
    "source", "suite", "task", "method", "variant", "seed", "cell_id", "status", "path", "n_rows",
    "last_agent_step", "total_agent_steps", "action_repeat", "expert_return", "random_return",
    "expert_success", "random_success", "error", "config_hash", "git_commit",
]
STATUSES = ("done", "running", "pending", "preempted", "failed", "malformed")
OURS = "ours"


@dataclass(frozen=True)
class LoadProblem:
    """A results file that could not be read; the report lists it and carries on."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Results:
    """Tidy metrics (`frame`), one row per cell (`cells`, config flattened as `config.*`) and load `problems`."""

    frame: pd.DataFrame
    cells: pd.DataFrame
    problems: list[LoadProblem] = field(default_factory=list)

    @staticmethod
    def empty() -> Results:
        return Results(pd.DataFrame(columns=FRAME_COLUMNS), pd.DataFrame(columns=CELL_COLUMNS), [])

    @staticmethod
    def concat(parts: Iterable[Results]) -> Results:
        parts = list(parts)
        frames = [p.frame for p in parts if len(p.frame)]
        cells = [p.cells for p in parts if len(p.cells)]
        return Results(
            pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FRAME_COLUMNS),
            pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(columns=CELL_COLUMNS),
            [q for p in parts for q in p.problems],
        )

    def filter(
        self,
        suites: Iterable[str] | None = None,
        methods: Iterable[str] | None = None,
        tasks: Iterable[str] | None = None,
    ) -> Results:
        """Keep only the given suites / methods / tasks (None keeps all); problems are kept as they are."""

        def keep(df: pd.DataFrame) -> pd.DataFrame:
            mask = pd.Series(True, index=df.index)
            for col, values in (("suite", suites), ("method", methods), ("task", tasks)):
                if values:
                    mask &= df[col].isin(list(values))
            return df[mask].reset_index(drop=True)

        return Results(keep(self.frame), keep(self.cells), list(self.problems))

    @property
    def done_cells(self) -> pd.DataFrame:
        return self.cells[self.cells["status"] == "done"]
