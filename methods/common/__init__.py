"""Shared cores. TD-MPC2-style latent world model (used by IQ-MPC, CDRED and the TD-MPC2 RL expert):

- `config`: `ModelConfig`, `PlannerConfig` and their `paper` / `cpu` / `smoke` presets
- `layers`: NormedLinear, SimNorm, `mlp`, pixel encoder with `ShiftAug`
- `ensemble`: vectorised `EnsembleMLP` (Q ensemble), `dropout_multiplier`, `frozen_copy`, `polyak_update`
- `world_model`: `WorldModel` (encode / next / pi / Q with target copy), `PolicyOut`
- `twohot`: symlog, `TwoHot` regression, `RunningScale`
- `planner`: `MPPI`
- `buffer`: `SliceBuffer` of (H+1)-step slices, `SliceBatch`
- `schedule`: discount heuristic, seed steps, update schedule
- `agent`: `AgentConfig`, `WorldModelAgent` (acting, schedule, optimisers, exact-resume state)
- `tdmpc2`: `TDMPC2` RL agent, `tdmpc2_preset`
"""
