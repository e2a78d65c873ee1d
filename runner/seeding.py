"""One integer seed per cell; every random stream (env, eval env, torch, numpy, python) derives from it."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def derive(seed: int, *names: object) -> int:
    """A 31-bit seed for the stream `names` of cell seed `seed` (stable across runs and machines)."""
    key = "/".join([str(int(seed)), *map(str, names)]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little") & 0x7FFFFFFF


def seed_globals(seed: int) -> None:
    """Seed the process-global generators that methods might use implicitly."""
    random.seed(derive(seed, "python"))
    np.random.seed(derive(seed, "numpy"))
    torch.manual_seed(derive(seed, "torch"))


def global_rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_global_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
