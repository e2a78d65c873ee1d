"""Ingest TD-MPC2's published per-seed curves (`<algo>/<task>.csv`: step,reward|success,seed) as a results source.

Hand-written because the release is a plain CSV folder with TD-MPC2's own task ids. Every row is labelled
`source="tdmpc2-release"` and every variant `"<algo> (TD-MPC2 data)"`: it is their published data, not ours.
`step` counts environment steps; agent steps are derived with the suite's action repeat.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.results import CELL_COLUMNS, FRAME_COLUMNS, LoadProblem, Results

SOURCE = "tdmpc2-release"
ALGOS = ("tdmpc2", "tdmpc", "sac", "dreamerv3", "tdmpc2-pixels")
MANISKILL2 = {
    "lift-cube": "LiftCube-v0", "pick-cube": "PickCube-v0", "stack-cube": "StackCube-v0",
    "pick-ycb": "PickSingleYCB-v0", "turn-faucet": "TurnFaucet-v0",
}
MYO_PARTS = {"key-turn": "KeyTurn", "obj-hold": "ObjHold", "pen-twirl": "PenTwirl", "pose": "Pose", "reach": "Reach"}
ACTION_REPEAT = {"dmc": 2, "metaworld": 2, "maniskill2": 2, "myosuite": 1}
# DMC episodes last 1000 env steps with rewards in [0, 1]: TD-MPC2 normalises returns by 1000.
DMC_REFERENCE = {"expert_return": 1000.0, "random_return": 0.0}


def is_tdmpc2_release(path: str | Path) -> bool:
    """True for a folder laid out like TD-MPC2's `results/` (algorithm folders of per-task CSVs)."""
    path = Path(path)
    return path.is_dir() and any((path / a).is_dir() and any((path / a).glob("*.csv")) for a in ALGOS)


def map_task(tdmpc2_task: str) -> tuple[str, str]:
    """TD-MPC2 task id -> (our suite, our task id)."""
    if tdmpc2_task.startswith("mw-"):
        return "metaworld", f"{tdmpc2_task[3:]}-v3"
    if tdmpc2_task in MANISKILL2:
        return "maniskill2", MANISKILL2[tdmpc2_task]
    if tdmpc2_task.startswith("myo-hand-"):
        rest = tdmpc2_task.removeprefix("myo-hand-")
        hard = rest.endswith("-hard")
        part = MYO_PARTS.get(rest.removesuffix("-hard"), rest.title().replace("-", ""))
        return "myosuite", f"myoHand{part}{'Random' if hard else 'Fixed'}-v0"
    return "dmc", tdmpc2_task


def variant_label(algo: str) -> str:
    return f"{algo} (TD-MPC2 data)"


def _read(path: Path, algo: str) -> tuple[pd.DataFrame, list[dict], list[LoadProblem]]:
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        return pd.DataFrame(), [], [LoadProblem(str(path), f"unreadable CSV ({e})")]
    value_col = next((c for c in ("success", "reward") if c in df.columns), None)
    if value_col is None or not {"step", "seed"} <= set(df.columns):
        msg = f"expected columns step,reward|success,seed; found {','.join(map(str, df.columns))}"
        return pd.DataFrame(), [], [LoadProblem(str(path), msg)]
    suite, task = map_task(path.stem)
    repeat = ACTION_REPEAT[suite]
    metric = "eval/success" if value_col == "success" else "eval/return"
    out = pd.DataFrame({
        "source": SOURCE, "suite": suite, "task": task, "method": algo, "variant": variant_label(algo),
        "seed": df["seed"].astype(int), "cell_id": [f"tdmpc2:{algo}:{path.stem}:{s}" for s in df["seed"]],
        "agent_step": df["step"] // repeat, "env_step": df["step"], "metric": metric,
        "value": df[value_col].astype(float), "config_hash": None, "git_commit": None,
    })
    ref = DMC_REFERENCE if metric == "eval/return" and suite == "dmc" else {}
    cells = [
        {
            "source": SOURCE, "suite": suite, "task": task, "method": algo, "variant": variant_label(algo),
            "seed": int(seed), "cell_id": f"tdmpc2:{algo}:{path.stem}:{seed}", "status": "done",
            "path": str(path), "n_rows": len(g), "last_agent_step": int(g["step"].max()) // repeat,
            "total_agent_steps": None, "action_repeat": repeat, "expert_return": ref.get("expert_return"),
            "random_return": ref.get("random_return"), "expert_success": None, "random_success": None,
            "error": None, "config_hash": None, "git_commit": None, "tdmpc2_task": path.stem,
        }
        for seed, g in df.groupby("seed")
    ]
    return out, cells, []


def load_tdmpc2(
    root: str | Path, algos: tuple[str, ...] | None = None, suites: tuple[str, ...] | None = None
) -> Results:
    """Read the release folder (all algorithms present, or `algos`; all suites or `suites`) labelled as TD-MPC2's."""
    root = Path(root)
    frames, cells, problems = [], [], []
    for algo in algos or ALGOS:
        folder = root / algo
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.csv")):
            if suites and map_task(path.stem)[0] not in suites:
                continue
            df, c, p = _read(path, algo)
            if len(df):
                frames.append(df)
            cells += c
            problems += p
    frame = pd.concat(frames, ignore_index=True)[FRAME_COLUMNS] if frames else pd.DataFrame(columns=FRAME_COLUMNS)
    return Results(frame, pd.DataFrame(cells) if cells else pd.DataFrame(columns=CELL_COLUMNS), problems)
