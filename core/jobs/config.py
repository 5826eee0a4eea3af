"""Run configurations: one dataclass per job, each field documented once.

The CLI builds its options from these fields (defaults and help text), so a setting means the
same thing from Python and from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def doc(text: str, **kwargs: Any) -> Any:
    """A dataclass field carrying its help text in metadata (read by the CLI)."""
    return field(metadata={"help": text}, **kwargs)


@dataclass
class TrainConfig:
    """Settings of one training run (``rlgodot train``); ``None`` means the env's default."""

    env: str = doc(
        "Env name or id, e.g. 'ball' or 'ball-v0' (see 'rlgodot list-envs').", default=""
    )
    algo: str = doc("SB3 algorithm: 'ppo' (any action space) or 'dqn' (Discrete).", default="ppo")
    timesteps: int | None = doc(
        "Env steps to train for, summed over instances; default: the plugin's.", default=None
    )
    n_envs: int | None = doc("Env instances stepped together; default: the plugin's.", default=None)
    n_procs: int | None = doc("Godot processes; default: the plugin's.", default=None)
    seed: int | None = doc("Seed of the algorithm and of the envs' first reset.", default=None)
    options: dict[str, Any] = doc(
        "Env options (name -> value); see 'rlgodot list-envs'.", default_factory=dict
    )
    hyperparameters: dict[str, Any] = doc(
        "Overrides of the algorithm's keyword arguments (e.g. learning_rate).",
        default_factory=dict,
    )
    output_dir: Path = doc(
        "Where runs go: <output_dir>/<env>-<algo>-<time>/ with model, checkpoints and "
        "TensorBoard logs.",
        default=Path("runs"),
    )
    checkpoint_every: int = doc(
        "Save a checkpoint every this many env steps (0 = never).", default=50_000
    )
    torch_threads: int = doc(
        "torch.set_num_threads for training; 1 leaves the other cores to Godot.", default=1
    )
    progress_bar: bool = doc("Show a progress bar.", default=True)
    pin_cpus: bool = doc("Pin each Godot process to a core.", default=False)
    verbose: int = doc("Verbosity (0 quiet, 1 training summaries).", default=0)
    backend: str = doc(
        "Trainer: 'sb3' (Stable Baselines 3, one machine) or 'rllib' (Ray RLlib, scale-out).",
        default="sb3",
    )
    address: str | None = doc(
        "RLlib: Ray cluster to join ('auto' or HOST:PORT); default: a private local Ray.",
        default=None,
    )
    env_runners: int = doc(
        "RLlib: EnvRunners, each with one Godot process (1 CPU each, plus 1 for the driver).",
        default=2,
    )
    envs_per_runner: int | None = doc(
        "RLlib: env instances in each runner's Godot process; default: the plugin's n_envs.",
        default=None,
    )


def field_help(cls: type, name: str) -> str:
    """The help text of a config dataclass field."""
    for f in fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)
