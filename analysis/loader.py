"""Load `results/<suite>/<task>/<method>/<cell_id>/` (schema: results/README.md) into a `Results`.

Hand-written because the layout is this project's own; pandas does the CSV parsing. A file that cannot be read
becomes a `LoadProblem` naming it, and its cell stays in the ledger as `malformed`: the report never aborts.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.results import CELL_COLUMNS, FRAME_COLUMNS, OURS, LoadProblem, Results
from analysis.variants import assign_variants

METRIC_COLUMNS = ("agent_step", "env_step", "metric", "value")
MANIFEST_KEYS = ("cell_id", "suite", "task", "method", "seed", "status")


class ResultsFileError(ValueError):
    """A results file is malformed; the message names the file."""


def flatten(d: dict[str, Any], prefix: str = "config.") -> dict[str, Any]:
    """Nested dict -> {"config.a.b": value}; lists become strings so they can be grouped on."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = json.dumps(v) if isinstance(v, list) else v
    return out


def read_manifest(path: Path) -> dict[str, Any]:
    """Parse and check a manifest.json; raises ResultsFileError naming the file."""
    try:
        m = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ResultsFileError(f"{path}: unreadable manifest ({e})") from e
    if not isinstance(m, dict):
        raise ResultsFileError(f"{path}: manifest is not a JSON object")
    missing = [k for k in MANIFEST_KEYS if k not in m]
    if missing:
        raise ResultsFileError(f"{path}: manifest lacks {', '.join(missing)}")
    return m


DTYPES = {"agent_step": "int64", "env_step": "int64", "metric": "str", "value": "float64"}


def read_metrics(path: Path) -> pd.DataFrame:
    """Parse and check a metrics.csv (agent_step, env_step, metric, value); raises ResultsFileError."""
    try:  # fast path: the runner's exact layout
        df = pd.read_csv(path, dtype=DTYPES, engine="c")
        if list(df.columns) == list(METRIC_COLUMNS):
            return df
    except (ValueError, TypeError, pd.errors.ParserError):
        pass  # fall through to the checks below, which name the problem
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise ResultsFileError(f"{path}: unreadable CSV ({e})") from e
    missing = [c for c in METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise ResultsFileError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(METRIC_COLUMNS)}")
    df = df[list(METRIC_COLUMNS)]
    for col in ("agent_step", "env_step", "value"):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() & df[col].notna()
        if bad.any():
            row = int(bad.idxmax()) + 2  # header is line 1
            raise ResultsFileError(f"{path}: line {row}: non-numeric {col} {df[col][bad.idxmax()]!r}")
        df[col] = num
    return df.dropna(subset=["agent_step", "value"])


def _cell_row(m: dict[str, Any], cell_dir: Path, status: str, error: str | None) -> dict[str, Any]:
    ref = m.get("reference") or {}
    spec = m.get("spec") or {}
    prog = m.get("progress") or {}
    git = m.get("git") or {}
    row = {
        "source": OURS, "suite": m["suite"], "task": m["task"], "method": m["method"], "seed": int(m["seed"]),
        "cell_id": m["cell_id"], "status": status, "path": str(cell_dir), "n_rows": 0,
        "last_agent_step": prog.get("agent_step"), "total_agent_steps": prog.get("total_agent_steps"),
        "action_repeat": spec.get("action_repeat"),
        "expert_return": ref.get("expert_return"), "random_return": ref.get("random_return"),
        "expert_success": ref.get("expert_success"), "random_success": ref.get("random_success"),
        "error": error, "config_hash": m.get("config_hash"), "git_commit": git.get("commit"),
    }
    row.update(flatten(m.get("config") or {}))
    return row


def _identity_from_path(cell_dir: Path) -> dict[str, Any]:
    suite, task, method, cell_id = cell_dir.parts[-4:]
    return {"suite": suite, "task": task, "method": method, "seed": -1, "cell_id": cell_id}


def load_manifest_row(cell_dir: Path) -> tuple[dict[str, Any], Path | None, list[LoadProblem]]:
    """One cell's ledger row, the metrics file to read (None if none or unreadable manifest) and problems."""
    try:
        m = read_manifest(cell_dir / "manifest.json")
    except ResultsFileError as e:
        problem = LoadProblem(str(cell_dir / "manifest.json"), str(e).split(": ", 1)[1])
        return _cell_row(_identity_from_path(cell_dir), cell_dir, "malformed", str(e)), None, [problem]
    row = _cell_row(m, cell_dir, str(m["status"]), m.get("error"))
    metrics_path = cell_dir / "metrics.csv"
    if metrics_path.exists():
        return row, metrics_path, []
    if row["status"] == "done":
        row["status"] = "malformed"
        return row, None, [LoadProblem(str(metrics_path), "missing although the cell is done")]
    return row, None, []


HEADER = ",".join(METRIC_COLUMNS).encode()


def read_many_metrics(paths: list[Path]) -> list[pd.DataFrame | ResultsFileError]:
    """Parse many metrics.csv files with one pandas call (per-file calls dominate load time); any file that does
    not fit the runner's exact layout, or a failed bulk parse, falls back to `read_metrics` file by file."""
    out: list[pd.DataFrame | ResultsFileError | None] = [None] * len(paths)
    bodies, counts, bulk = [], [], []
    for i, p in enumerate(paths):
        data = p.read_bytes()
        head, _, body = data.partition(b"\n")
        if head.strip() != HEADER or b"\n\n" in body or body.startswith(b"\n"):
            continue
        if body and not body.endswith(b"\n"):
            body += b"\n"
        bodies.append(body)
        counts.append(body.count(b"\n"))
        bulk.append(i)
    if bulk:
        try:
            df = pd.read_csv(io.BytesIO(HEADER + b"\n" + b"".join(bodies)), dtype=DTYPES, engine="c")
            ok = len(df) == sum(counts)
        except (ValueError, TypeError, pd.errors.ParserError):
            ok = False
        if ok:
            edges = np.cumsum([0, *counts])
            for j, i in enumerate(bulk):
                out[i] = df.iloc[edges[j]:edges[j + 1]].reset_index(drop=True)
    for i, p in enumerate(paths):
        if out[i] is None:
            try:
                out[i] = read_metrics(p)
            except ResultsFileError as e:
                out[i] = e
    return out  # type: ignore[return-value]


def find_cells(root: Path) -> list[Path]:
    """Cell directories: exactly four levels below `root` (suite/task/method/cell_id)."""
    return sorted(p for p in root.glob("*/*/*/*") if p.is_dir() and not p.name.startswith("."))


def load_results(root: str | Path) -> Results:
    """Walk a results tree into a `Results` (tidy frame + ledger + problems)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"results directory {root} does not exist")
    rows, paths, owners, problems = [], [], [], []
    for cell_dir in find_cells(root):
        row, metrics_path, probs = load_manifest_row(cell_dir)
        rows.append(row)
        problems += probs
        if metrics_path is not None:
            paths.append(metrics_path)
            owners.append(len(rows) - 1)
    frames, frame_owners = [], []
    for owner, path, metrics in zip(owners, paths, read_many_metrics(paths), strict=True):
        if isinstance(metrics, ResultsFileError):
            problems.append(LoadProblem(str(path), str(metrics).split(": ", 1)[1]))
            rows[owner]["status"], rows[owner]["error"] = "malformed", str(metrics)
            continue
        rows[owner]["n_rows"] = len(metrics)
        if rows[owner]["last_agent_step"] is None and len(metrics):
            rows[owner]["last_agent_step"] = int(metrics["agent_step"].max())
        if len(metrics):
            frames.append(metrics)
            frame_owners.append(owner)
    cells = pd.DataFrame(rows) if rows else pd.DataFrame(columns=CELL_COLUMNS)
    cells = assign_variants(cells)
    if not frames:
        return Results(pd.DataFrame(columns=FRAME_COLUMNS), cells, problems)
    frame = pd.concat(frames, ignore_index=True)
    # identity columns: one concat, then per-cell values broadcast by code (per-cell assign is 10x slower)
    codes = np.repeat(np.asarray(frame_owners), [len(f) for f in frames])
    for col in ("source", "suite", "task", "method", "variant", "seed", "cell_id", "config_hash", "git_commit"):
        values = cells[col].to_numpy()[codes]
        frame[col] = pd.Categorical(values) if col not in ("seed",) else values
    frame["metric"] = frame["metric"].astype("category")
    return Results(frame[FRAME_COLUMNS], cells, problems)
