"""Metrics sinks for one cell: long-format metrics.csv, eval.csv and TensorBoard, all resumable.

On resume the CSVs are truncated to the byte lengths recorded in the checkpoint, and TensorBoard is told to
purge events from the resumed step on, so rows written after the last checkpoint never appear twice.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

METRICS_HEADER = "agent_step,env_step,metric,value\n"
EVAL_HEADER = "agent_step,env_step,episode,return,success,success_any,length\n"


def _fmt(x: float) -> str:
    """repr() round-trips floats exactly: CSVs of two identical runs are byte-identical."""
    x = float(x)
    return "nan" if math.isnan(x) else repr(x)


class CsvFile:
    def __init__(self, path: Path, header: str) -> None:
        self.path = path
        if not path.exists() or path.stat().st_size == 0:
            path.write_text(header)
        self._f = open(path, "a")  # noqa: SIM115  (kept open for the cell's lifetime)

    def write(self, line: str) -> None:
        self._f.write(line)

    def flush(self) -> int:
        """Flush to the OS and return the file's byte length (recorded in checkpoints)."""
        self._f.flush()
        os.fsync(self._f.fileno())
        return self._f.tell()

    def truncate(self, size: int) -> None:
        self._f.flush()
        self._f.truncate(size)
        self._f.seek(size)

    def close(self) -> None:
        self._f.close()


class CellLogger:
    """Writes `metrics.csv`, `eval.csv` and `tb/` inside a run directory."""

    def __init__(self, run_dir: Path, action_repeat: int, tensorboard: bool = True) -> None:
        self.repeat = action_repeat
        self.metrics = CsvFile(run_dir / "metrics.csv", METRICS_HEADER)
        self.evals = CsvFile(run_dir / "eval.csv", EVAL_HEADER)
        self._tb_dir = run_dir / "tb"
        self._use_tb = tensorboard
        self._tb = None

    def start(self, resume_step: int | None) -> None:
        """Open TensorBoard; when resuming, events at steps >= resume_step + 1 are purged."""
        if self._use_tb:
            from torch.utils.tensorboard import SummaryWriter

            purge = None if resume_step is None else resume_step + 1
            self._tb = SummaryWriter(str(self._tb_dir), purge_step=purge)

    def scalars(self, agent_step: int, values: dict[str, float]) -> None:
        env_step = agent_step * self.repeat
        for name, value in values.items():
            self.metrics.write(f"{agent_step},{env_step},{name},{_fmt(value)}\n")
            if self._tb is not None:
                self._tb.add_scalar(name, float(value), agent_step)

    def episode(self, agent_step: int, episode: int, ret: float, success: float, success_any: float,
                length: int) -> None:
        self.evals.write(f"{agent_step},{agent_step * self.repeat},{episode},{_fmt(ret)},{_fmt(success)},"
                         f"{_fmt(success_any)},{length}\n")

    def sizes(self) -> dict[str, int]:
        if self._tb is not None:
            self._tb.flush()
        return {"metrics": self.metrics.flush(), "eval": self.evals.flush()}

    def truncate(self, sizes: dict[str, int]) -> None:
        self.metrics.truncate(sizes["metrics"])
        self.evals.truncate(sizes["eval"])

    def close(self) -> None:
        self.metrics.close()
        self.evals.close()
        if self._tb is not None:
            self._tb.close()
