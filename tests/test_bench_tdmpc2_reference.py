"""bench.tdmpc2_reference trains the TD-MPC2 agent on the true reward and evaluates it under both planner rules."""

from __future__ import annotations

import sys

from bench import tdmpc2_reference


def test_reference_trains_then_reports_both_rules(tmp_path, monkeypatch, capsys):
    argv = ["tdmpc2_reference", "--steps", "200", "--size", "smoke", "--episodes", "1", "--root", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    tdmpc2_reference.main()
    out = capsys.readouterr().out
    assert "trained 200 agent steps" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "last.pt" in line]
    assert [row.split(" | ")[1] for row in rows] == ["mean", "elite"]
    assert all(0.0 <= float(row.split(" | ")[3]) <= 1.0 for row in rows)
