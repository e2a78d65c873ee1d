"""Grid runner: cells with deterministic ids, the results ledger, the resumable single-cell training loop and
the local launcher. The runner is the only code that touches both `envs` and `methods`."""
