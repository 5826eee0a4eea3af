"""Job configurations: one dataclass per job, each setting defined and documented once.

A field's default is its one default, its ``help`` metadata its one description. The CLI
builds its options from these fields (``rlgodot.cli.config_options``), so a setting means the
same thing from Python and from the command line. Field metadata read by the CLI:

- ``help``: the description (also listed under ``Attributes`` in the class docstring);
- ``choices``: the few values the field takes;
- ``cli``: the long flag when it is not ``--kebab-name`` (``--no-kebab-name`` for a bool
  whose default is True); ``short``: a short flag (``-o``); ``metavar``; ``count``: an int
  counted by repeating the flag (``-vv``); ``flag_value``: the value of the flag given
  without one (``--attach`` alone);
- ``min``, ``max``: the least and greatest values allowed (checked by
  :meth:`JobConfig.validate`);
- ``argument``: a positional argument (``rlgodot new-env NAME``) instead of an option;
  ``switches``: a field with ``choices`` given as one flag per choice (``--2d`` / ``--3d``).

``None`` means "the env's (or plugin's) default" wherever a field allows it. Every config is
checked when it is made, so bad values fail before Godot starts, from Python as from the CLI.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from rlgodot.core.errors import InvalidOption
from rlgodot.core.runtime.protocol.messages import (
    ATTACH_ARG,
    DEFAULT_ATTACH_PORT,
    check_view_size,
)
from rlgodot.core.runtime.settings import LaunchSettings

C = TypeVar("C", bound="JobConfig")


def doc(text: str, **kwargs: Any) -> Any:
    """A dataclass field carrying its help text (and CLI hints, see above) in metadata.

    Keyword arguments that are not :func:`dataclasses.field` arguments go into the metadata.
    """
    field_args = {"default", "default_factory", "init", "repr", "compare", "kw_only"}
    metadata = {k: v for k, v in kwargs.items() if k not in field_args}
    return field(
        metadata={"help": text, **metadata},
        **{k: v for k, v in kwargs.items() if k in field_args},
    )


def cli_flag(f: dataclasses.Field[Any]) -> str:
    """The command-line flag of a config field (``n_envs`` -> ``--n-envs``)."""
    if "cli" in f.metadata:
        return str(f.metadata["cli"])
    kebab = f.name.replace("_", "-")
    return f"--no-{kebab}" if f.default is True else f"--{kebab}"


def field_help(cls: type, name: str) -> str:
    """The help text of a config dataclass field."""
    for f in fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)


def _document(cls: type[C]) -> type[C]:
    """Append an ``Attributes`` section, built from the fields' help, to the class docstring."""
    lines = [f"    {f.name}: {f.metadata['help']}" for f in fields(cls) if "help" in f.metadata]
    cls.__doc__ = f"{cls.__doc__ or ''}\n\nAttributes:\n" + "\n".join(lines)
    return cls


@dataclass
class JobConfig:
    """Base of the job configs: checks every field against its ``min`` and ``choices``."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InvalidOption` (one line, with the fix) for a value out of range.

        Raises:
            InvalidOption: A value below the field's ``min`` or not among its ``choices``.
        """
        for f in fields(self):
            _check_field(f, getattr(self, f.name))


def _check_field(f: dataclasses.Field[Any], value: Any) -> None:
    if value is None:
        return
    flag = f"{f.name} ({cli_flag(f)})"
    low = f.metadata.get("min")
    if low is not None and (not isinstance(value, (int, float)) or value < low):
        fallback = ", or leave it out for the default" if f.default is None else ""
        raise InvalidOption(
            f"{flag} must be at least {low}, got {value!r}; give {low} or more{fallback}"
        )
    high = f.metadata.get("max")
    if high is not None and (not isinstance(value, (int, float)) or value > high):
        raise InvalidOption(f"{flag} must be at most {high}, got {value!r}")
    choices = f.metadata.get("choices")
    if choices and str(value).lower() not in choices:
        raise InvalidOption(f"{flag} must be one of {', '.join(choices)}; got {value!r}")


def config_from(cls: type[C], env_or_config: str | C, overrides: dict[str, Any]) -> C:
    """A job's config from either a config or an env name plus keyword overrides.

    ``evaluate(EvalConfig(env="ball", episodes=4))`` and ``evaluate("ball", episodes=4)`` are
    the same call; the defaults live only in ``cls``.

    Raises:
        TypeError: An override that is not a field of ``cls``.
        InvalidOption: A value out of range (see :meth:`JobConfig.validate`).
    """
    if isinstance(env_or_config, cls):
        return dataclasses.replace(env_or_config, **overrides) if overrides else env_or_config
    return cls(env=env_or_config, **overrides)  # type: ignore[call-arg]


# Fields shared by several jobs, each described once.


def env_field() -> Any:
    """The env to run (required)."""
    return doc("Env name or id, e.g. 'ball' or 'ball-v0' (see 'rlgodot list-envs').")


def options_field() -> Any:
    """Env options, ``-o NAME=VALUE`` on the command line."""
    return doc(
        "Env option NAME=VALUE; see 'rlgodot list-envs --env NAME'.",
        default_factory=dict, cli="--option", short="-o",
    )


def n_envs_field(text: str, default: int | None) -> Any:
    """Env instances (at least 1)."""
    return doc(text, default=default, min=1)


def pin_cpus_field() -> Any:
    """Pin each Godot process to a core."""
    return doc("Pin each Godot process to a core.", default=False)


def attach_field() -> Any:
    """Attach to a running game instead of launching Godot (``--attach [PORT]``)."""
    return doc(
        "Attach to the game already running on 127.0.0.1:PORT instead of launching Godot: a "
        "scene with an RLServer (allow_attach on) run from the Godot editor, or a build started "
        f"with {ATTACH_ARG}. It shows the instances in its window; keys [ and ] change the "
        f"speed. --attach alone: port {DEFAULT_ATTACH_PORT}.",
        default=None, min=1, max=65535, metavar="[PORT]", flag_value=DEFAULT_ATTACH_PORT,
    )


def step_timeout_field() -> Any:
    """Seconds before a silent Godot counts as hung."""
    return doc(
        "Seconds to wait for Godot's reply to a step before it counts as hung (and, in "
        "training, is restarted).",
        default=LaunchSettings.step_timeout, min=0.1,
    )


ALGOS = ("ppo", "dqn")
DEFAULT_MAX_RESTARTS = 3
"""Godot failures in a row a training run recovers from (``TrainConfig.max_restarts``)."""


@_document
@dataclass
class TrainConfig(JobConfig):
    """Settings of one training run (``rlgodot train``); ``None`` means the env's default."""

    env: str = env_field()
    algo: str = doc(
        "Algorithm: 'ppo' (any action space) or 'dqn' (Discrete).", default="ppo", choices=ALGOS
    )
    timesteps: int | None = doc(
        "Env steps to train for, summed over instances; default: the plugin's.",
        default=None, min=1,
    )
    n_envs: int | None = n_envs_field(
        "Env instances stepped together; default: the plugin's.", None
    )
    n_procs: int | None = doc("Godot processes; default: the plugin's.", default=None, min=1)
    seed: int | None = doc(
        "Seed of the algorithm and of the envs' first reset.", default=None, min=0
    )
    options: dict[str, Any] = options_field()
    hyperparameters: dict[str, Any] = doc(
        "Override of the algorithm's keyword arguments NAME=VALUE (e.g. learning_rate=0.001).",
        default_factory=dict, cli="--hp",
    )
    output_dir: Path = doc(
        "Where runs go: <output_dir>/<env>-<algo>-<time>/ with model, checkpoints and "
        "TensorBoard logs.",
        default=Path("runs"),
    )
    checkpoint_every: int = doc(
        "Save a checkpoint every this many env steps (0 = never).", default=50_000, min=0
    )
    torch_threads: int = doc(
        "torch.set_num_threads while collecting experience; 1 leaves the other cores to Godot.",
        default=1, min=1,
    )
    update_threads: int = doc(
        "torch.set_num_threads for PPO's update, while Godot waits (0 = every core this "
        "process may use).",
        default=0, min=0,
    )
    progress_bar: bool = doc("Show a progress bar.", default=True, cli="--no-progress")
    pin_cpus: bool = pin_cpus_field()
    verbose: int = doc(
        "Verbosity (0 quiet, 1 training summaries).", default=0, min=0, count=True, short="-v"
    )
    backend: str = doc(
        "Trainer: 'sb3' (Stable Baselines 3, one machine) or 'rllib' (Ray RLlib, scale-out).",
        default="sb3", choices=("sb3", "rllib"),
    )
    address: str | None = doc(
        "RLlib: Ray cluster to join ('auto' or HOST:PORT); default: a private local Ray.",
        default=None,
    )
    env_runners: int = doc(
        "RLlib: EnvRunners, each with one Godot process (1 CPU each, plus 1 for the driver).",
        default=2, min=0,
    )
    envs_per_runner: int | None = doc(
        "RLlib: env instances in each runner's Godot process; default: the plugin's n_envs.",
        default=None, min=1,
    )
    step_timeout: float = step_timeout_field()
    max_restarts: int | None = doc(
        "Godot crashes or hangs in a row that training recovers from (restarting Godot) "
        f"before it stops and saves model_interrupted.zip; default {DEFAULT_MAX_RESTARTS}, "
        "and 0 with --attach (an attached game is never restarted).",
        default=None, min=0,
    )
    resume: Path | None = doc(
        "Continue this run directory: its settings, step counter, TensorBoard log and "
        "checkpoints, up to its timesteps (or a new --timesteps).",
        default=None, metavar="RUN_DIR",
    )
    init_from: Path | None = doc(
        "Start from this model's weights (fine-tuning): new run, step counter from 0.",
        default=None, metavar="MODEL",
    )
    eval_every: int = doc(
        "Evaluate on separate Godot instances every this many env steps, keep the best "
        "model as best_model.zip (0 = never).",
        default=0, min=0,
    )
    eval_episodes: int = doc("Seeded episodes of each evaluation during training.", default=10,
                             min=1)
    video_every: int = doc(
        "Record one evaluation episode (deterministic policy, on its own Godot instance) every "
        "this many env steps into <run>/videos/step-<steps>.mp4 and TensorBoard (0 = never).",
        default=0, min=0,
    )
    attach: int | None = attach_field()

    def validate(self) -> None:
        """Check the ranges, then what ``attach`` rules out.

        Raises:
            InvalidOption: A value out of range, or ``attach`` with several processes, restarts
                or the rllib backend.
        """
        super().validate()
        if self.attach is None:
            return
        if self.n_procs not in (None, 1):
            raise InvalidOption(
                f"--attach trains in one running game: --n-procs must be 1, got {self.n_procs}"
            )
        if self.max_restarts:
            raise InvalidOption(
                "--attach: an attached game is never restarted (a game that stops ends "
                f"training); leave --max-restarts out, got {self.max_restarts}"
            )
        if self.backend != "sb3":
            raise InvalidOption("--attach trains with the sb3 backend; leave --backend out")

    def training_restarts(self) -> int:
        """``max_restarts`` resolved: its default, and 0 when attached."""
        if self.attach is not None:
            return 0
        return DEFAULT_MAX_RESTARTS if self.max_restarts is None else self.max_restarts


@_document
@dataclass
class EvalConfig(JobConfig):
    """Settings of an evaluation over seeded episodes (``rlgodot eval``)."""

    env: str = env_field()
    model: Path | None = doc(
        "Model .zip from 'rlgodot train' or an RLlib checkpoint directory; "
        "default: the plugin's shipped model.",
        default=None,
    )
    algo: str | None = doc(
        "Algorithm of an SB3 model without metadata; default: from its .json.",
        default=None, choices=ALGOS,
    )
    random_policy: bool = doc("Random actions (the baseline).", default=False, cli="--random")
    in_engine: bool = doc(
        "Run the SB3 model inside Godot (exported to a policy.json, RLPolicy): Godot computes "
        "every action, Python only collects the results.",
        default=False,
    )
    episodes: int = doc("Episodes to run.", default=10, min=1)
    seed: int = doc("Seed of instance 0 (instance i gets seed+i).", default=0, min=0)
    n_envs: int | None = n_envs_field("Instances; default: min(episodes, 8).", None)
    options: dict[str, Any] = options_field()
    deterministic: bool = doc("Deterministic actions of the model.", default=True)
    step_timeout: float = step_timeout_field()
    render: bool = doc(
        "Watch the episodes in a Godot window (needs a display), one after another on one "
        "instance, captioned with episode and return.",
        default=False,
    )
    speed: float = doc(
        "Speed of --render as a multiple of real time (2.0: twice as fast).", default=1.0,
        min=0.1,
    )
    video: Path | None = doc(
        "Record the episodes, one after another on one instance, to this H.264 MP4 (plays in "
        "browsers), plus a short looping GIF beside it (same name, .gif).",
        default=None, metavar="PATH.mp4",
    )
    render_size: tuple[int, int] = doc(
        "Width and height in pixels of the --video frames and of the --render view.",
        default=LaunchSettings.render_size, metavar="W H",
    )
    attach: int | None = attach_field()


@_document
@dataclass
class ScreenshotConfig(JobConfig):
    """Settings of ``rlgodot screenshot``: one rendered frame of an agent's episode, as a PNG."""

    env: str = env_field()
    out: Path = doc(
        "The PNG to write (its folder is made if missing; an existing file is replaced).",
        metavar="FILE.png",
    )
    seed: int = doc("Seed of the episode.", default=0, min=0)
    steps: int = doc(
        "Steps to run from the reset before the picture (0: the first state); an episode that "
        "ends sooner is pictured at its last state.",
        default=0, min=0,
    )
    render_size: tuple[int, int] = doc(
        "Width and height of the picture in pixels.",
        default=LaunchSettings.render_size, cli="--size", metavar="W H",
    )
    model: Path | None = doc(
        "Model .zip from 'rlgodot train' or an RLlib checkpoint directory; default: the "
        "plugin's shipped model.",
        default=None,
    )
    algo: str | None = doc(
        "Algorithm of an SB3 model without metadata; default: from its .json.",
        default=None, choices=ALGOS,
    )
    random_policy: bool = doc("Random actions instead of a model.", default=False, cli="--random")
    options: dict[str, Any] = options_field()
    hud: bool = doc("Draw the HUD (the env's readout) into the picture.", default=True)
    step_timeout: float = step_timeout_field()

    def validate(self) -> None:
        """Check the ranges, the size, and that a model and random actions are not both asked.

        Raises:
            InvalidOption: A value out of range, a bad size, or ``model`` with ``random_policy``.
        """
        super().validate()
        check_view_size(self.render_size, "--size")
        if self.model is not None and self.random_policy:
            raise InvalidOption(
                "--model and --random exclude each other: give a model, or --random for "
                "random actions"
            )


@_document
@dataclass
class ExportConfig(JobConfig):
    """Settings of a policy export for Godot (``rlgodot export``)."""

    env: str = env_field()
    out: Path = doc(
        "Directory to write policy.json (for RLPolicy in Godot), policy.onnx and README.md "
        "into; made if missing, files of an earlier export replaced.",
        metavar="DIR",
    )
    model: Path | None = doc(
        "SB3 PPO or DQN model .zip from 'rlgodot train'; default: the plugin's shipped model.",
        default=None,
    )
    algo: str | None = doc(
        "Algorithm of an SB3 model without metadata; default: from its .json.",
        default=None, choices=ALGOS,
    )


@_document
@dataclass
class RunConfig(JobConfig):
    """Settings of a random-action run (``rlgodot run``): throughput."""

    env: str = env_field()
    steps: int = doc("Env steps in total, summed over instances.", default=10_000, min=1)
    n_envs: int = n_envs_field("Instances stepped together.", 1)
    n_procs: int = doc("Godot processes.", default=1, min=1)
    seed: int | None = doc("Seed of the first reset and of the actions.", default=0, min=0)
    options: dict[str, Any] = options_field()
    pin_cpus: bool = pin_cpus_field()
    attach: int | None = attach_field()


@_document
@dataclass
class BenchConfig(JobConfig):
    """Settings of ``rlgodot bench``: Python-path throughput vs the engine's own limit."""

    env: str = env_field()
    n_envs: int = n_envs_field("Instances in total.", 64)
    procs: int = doc("Godot processes.", default=1, min=1)
    action_repeat: int | None = doc(
        "Physics ticks per decision; default: the env's.", default=None, min=1
    )
    seconds: float = doc("Length of the Python phase.", default=5.0, min=0)
    pin_cpus: bool = pin_cpus_field()
    sweep: bool = doc(
        "Run n-envs 1, 16, 64, 256 x procs 1, 2 and print a table.", default=False
    )
    sb3_timesteps: int | None = doc(
        "Instead: SB3 PPO fps over TIMESTEPS env steps on the env vs on a free env with the "
        "same spaces.",
        default=None, min=1, cli="--sb3", metavar="TIMESTEPS",
    )


@_document
@dataclass
class PlayConfig(JobConfig):
    """Settings of keyboard play in a window (``rlgodot play``)."""

    env: str = env_field()
    seconds: float | None = doc(
        "Quit after this many seconds; default: when the window closes.", default=None, min=0
    )
    options: dict[str, Any] = options_field()
    opponent: bool = doc(
        "Race the trained agent: a second instance beside yours, on the same seed, driven in "
        "the engine by the exported policy.",
        default=False,
    )
    opponent_policy: Path | None = doc(
        "The policy.json the opponent runs (from 'rlgodot export'); implies --opponent. "
        "Default: the env's shipped model, exported on the fly.",
        default=None,
    )


@_document
@dataclass
class CheckConfig(JobConfig):
    """Settings of the conformance suite (``rlgodot check``)."""

    env: str = env_field()
    only: tuple[str, ...] = doc("Run only this check.", default=())
    steps: int = doc("Random steps per check.", default=2000, min=1)


@_document
@dataclass
class NewEnvConfig(JobConfig):
    """Settings of ``rlgodot new-env``: a new env plugin package to start from."""

    name: str = doc(
        "Env name: lower-case letters, digits, '-' and '_', starting with a letter or digit "
        "(the env id is NAME-v0, the package rlgodot-NAME, the import name rlgodot_NAME).",
        argument=True,
    )
    dimensions: str = doc(
        "A 2D scene (a body pushed to a target in a walled arena) or a 3D one (a body on a "
        "floor, a camera watching).",
        default="2d", choices=("2d", "3d"), switches=True,
    )
    project: Path | None = doc(
        "An existing Godot project (the folder holding project.godot): the scene, its agent "
        "script and a train.tscn go into PATH/rl/NAME/ (the addon is installed if missing), "
        "and the env runs that project.",
        default=None, metavar="PATH",
    )
    out: Path = doc(
        "Folder to write the package folder rlgodot-NAME/ into.", default=Path("."),
        metavar="DIR",
    )

    def validate(self) -> None:
        """Also check ``name`` against the env id rules (one line, with the fix).

        Raises:
            InvalidOption: A bad name or a value out of range.
        """
        super().validate()
        from rlgodot.core.plugin.spec import ENV_ID_PATTERN

        match = ENV_ID_PATTERN.match(f"{self.name}-v0")
        if (match is None or match.group("name") != self.name or self.name.endswith(("-", "_"))
                or re.search(r"-v\d+$", self.name)):
            raise InvalidOption(
                f"env name {self.name!r} is not allowed: use lower-case letters, digits, '-' "
                "and '_', starting with a letter or digit (e.g. 'reach' or 'my-robot')"
            )
