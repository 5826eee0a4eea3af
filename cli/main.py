"""``rlgodot`` commands. Each parses, calls one function of :mod:`rlgodot.core`, and prints."""

from __future__ import annotations

import functools
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import TrainConfig, field_help

F = TypeVar("F", bound=Callable[..., Any])


def _parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, Any]:
    """``("a=1", "b=x")`` -> ``{"a": 1, "b": "x"}``; values are JSON when they parse as JSON."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint=what)
        try:
            parsed[name] = json.loads(raw)
        except json.JSONDecodeError:
            parsed[name] = raw
    return parsed


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` (env close, ``algo.stop()``) runs."""
    raise SystemExit(128 + signum)


def _friendly_errors(func: F) -> F:
    """Turn rlgodot errors into one clear line, Ctrl-C into exit code 130, SIGTERM into 143."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            return func(*args, **kwargs)
        except RLGodotError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("interrupted; Godot processes were ended", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


env_option = click.option("--env", "env", required=True, help=field_help(TrainConfig, "env"))
options_option = click.option(
    "--option", "-o", "options", multiple=True, metavar="NAME=VALUE",
    help="Env option (repeatable); see 'rlgodot list-envs --env NAME'.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object last.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlgodot")
def main() -> None:
    """Reinforcement learning in Python driving Godot 4 simulations.

    Start with 'rlgodot doctor', then 'rlgodot list-envs' and 'rlgodot train --env ball'.
    """


@main.command("list-envs")
@click.option("--env", "env", default=None, help="Show one env in detail (options, defaults).")
@json_option
@_friendly_errors
def list_envs_command(env: str | None, as_json: bool) -> None:
    """List installed envs: name, description, spaces."""
    from rlgodot.core.plugin.registry import get_registry

    registry = get_registry()
    specs = [registry.get(env)] if env else list(registry.specs().values())
    if as_json:
        click.echo(json.dumps([_spec_summary(s) for s in specs], indent=2))
        return
    for spec in specs:
        click.echo(f"{spec.id:<24} {spec.description}")
        click.echo(f"{'':<24} observation {spec.observation_space}  action {spec.action_space}")
        if env:
            click.echo(f"{'':<24} plugin {registry.owner(spec.id)}, scene {spec.scene_res_path}")
            click.echo(
                f"{'':<24} max_episode_steps {spec.max_episode_steps}, action_repeat "
                f"{spec.action_repeat}, physics {spec.physics_hz} Hz"
            )
            for name, opt in spec.options.items():
                click.echo(f"{'':<24} option {name}={opt.default!r} ({opt.target}): {opt.help}")
            if spec.model:
                click.echo(f"{'':<24} shipped model {spec.model}")
    for plugin, error in registry.errors.items():
        click.echo(f"warning: plugin {plugin} failed to load: {error}", err=True)


def _spec_summary(spec: Any) -> dict[str, Any]:
    return {
        "id": spec.id,
        "description": spec.description,
        "observation_space": str(spec.observation_space),
        "action_space": str(spec.action_space),
        "max_episode_steps": spec.max_episode_steps,
        "action_repeat": spec.action_repeat,
        "options": {n: {"default": o.default, "help": o.help} for n, o in spec.options.items()},
        "model": str(spec.model) if spec.model else None,
    }


@main.command("run")
@env_option
@click.option("--steps", default=10_000, show_default=True, help="Env steps in total.")
@click.option("--n-envs", default=1, show_default=True, help="Instances stepped together.")
@click.option("--n-procs", default=1, show_default=True, help="Godot processes.")
@click.option("--seed", default=0, show_default=True, help="Seed of the first reset.")
@click.option("--pin-cpus", is_flag=True, help="Pin each Godot process to a core.")
@click.option("--human", is_flag=True, help="Play it yourself in a window instead (= 'play').")
@options_option
@json_option
@_friendly_errors
def run_command(
    env: str, steps: int, n_envs: int, n_procs: int, seed: int, pin_cpus: bool, human: bool,
    options: tuple[str, ...], as_json: bool,
) -> None:
    """Step an env with random actions and print steps/s."""
    from rlgodot.core.jobs.run import play, run_random

    if human:
        sys.exit(play(env))
    result = run_random(
        env, steps=steps, n_envs=n_envs, n_procs=n_procs, seed=seed,
        options=_parse_pairs(options, "--option"), pin_cpus=pin_cpus,
    )
    click.echo(
        f"{result.env_id}: {result.steps} steps with {result.n_envs} instances in "
        f"{result.n_procs} process(es): {result.steps_per_s:,.0f} steps/s; "
        f"{result.episodes} episodes ended; first observation {result.launch_s:.2f} s after launch"
    )
    if as_json:
        click.echo(json.dumps(result.summary()))


@main.command("bench")
@env_option
@click.option("--n-envs", default=64, show_default=True, help="Instances in total.")
@click.option("--procs", default=1, show_default=True, help="Godot processes.")
@click.option("--action-repeat", type=int, default=None,
              help="Physics ticks per decision; default: the env's.")
@click.option("--seconds", default=5.0, show_default=True, help="Length of the Python phase.")
@click.option("--pin-cpus", is_flag=True, help="Pin each Godot process to a core.")
@click.option("--sweep", is_flag=True,
              help="Run n-envs 1, 16, 64, 256 x procs 1, 2 and print a table.")
@click.option("--sb3", "sb3_timesteps", type=int, default=None, metavar="TIMESTEPS",
              help="Instead: SB3 PPO fps on the env vs on a free env with the same spaces.")
@json_option
@_friendly_errors
def bench_command(
    env: str, n_envs: int, procs: int, action_repeat: int | None, seconds: float,
    pin_cpus: bool, sweep: bool, sb3_timesteps: int | None, as_json: bool,
) -> None:
    """Random-action throughput vs the engine's own limit (same scene, same run)."""
    from rlgodot.core.jobs.bench import bench, bench_sb3

    if sb3_timesteps:
        sb3 = bench_sb3(env, n_envs=n_envs, procs=procs, timesteps=sb3_timesteps,
                        pin_cpus=pin_cpus)
        click.echo(f"{sb3.env_id}: SB3 PPO {sb3.godot_fps:,.0f} fps on Godot, "
                   f"{sb3.ceiling_fps:,.0f} fps on a free env: {sb3.ratio:.0%} of SB3's ceiling")
        if as_json:
            click.echo(json.dumps(sb3.summary()))
        return

    sweep_grid = [(n, m) for m in (1, 2) for n in (1, 16, 64, 256) if n >= m]
    grid = sweep_grid if sweep else [(n_envs, procs)]
    click.echo(f"{'n_envs':>6} {'procs':>5} {'decisions/s':>12} {'ticks/s':>12} "
               f"{'engine/s':>12} {'ratio':>6}")
    results = []
    for n, m in grid:
        result = bench(env, n_envs=n, procs=m, action_repeat=action_repeat, seconds=seconds,
                       pin_cpus=pin_cpus)
        results.append(result.summary())
        click.echo(f"{n:>6} {m:>5} {result.decisions_per_s:>12,.0f} {result.ticks_per_s:>12,.0f} "
                   f"{result.engine_decisions_per_s:>12,.0f} {result.ratio:>6.2f}")
    if as_json:
        click.echo(json.dumps(results if sweep else results[0]))


@main.command("play")
@env_option
@click.option("--seconds", type=float, default=None, help="Quit after this many seconds.")
@_friendly_errors
def play_command(env: str, seconds: float | None) -> None:
    """Play an env with the keyboard in a Godot window (needs a display)."""
    from rlgodot.core.jobs.run import play

    sys.exit(play(env, seconds=seconds))


@main.command("train")
@env_option
@click.option("--algo", type=click.Choice(["ppo", "dqn"]), default="ppo", show_default=True,
              help=field_help(TrainConfig, "algo"))
@click.option("--timesteps", type=int, default=None, help=field_help(TrainConfig, "timesteps"))
@click.option("--n-envs", type=int, default=None, help=field_help(TrainConfig, "n_envs"))
@click.option("--n-procs", type=int, default=None, help=field_help(TrainConfig, "n_procs"))
@click.option("--seed", type=int, default=None, help=field_help(TrainConfig, "seed"))
@click.option("--hp", "hyperparameters", multiple=True, metavar="NAME=VALUE",
              help=field_help(TrainConfig, "hyperparameters") + " Repeatable.")
@click.option("--output-dir", type=click.Path(path_type=Path), default=Path("runs"),
              show_default=True, help=field_help(TrainConfig, "output_dir"))
@click.option("--checkpoint-every", type=int, default=50_000, show_default=True,
              help=field_help(TrainConfig, "checkpoint_every"))
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--pin-cpus", is_flag=True, help=field_help(TrainConfig, "pin_cpus"))
@click.option("--verbose", "-v", count=True, help=field_help(TrainConfig, "verbose"))
@click.option("--backend", type=click.Choice(["sb3", "rllib"]), default="sb3", show_default=True,
              help=field_help(TrainConfig, "backend"))
@click.option("--address", default=None, help=field_help(TrainConfig, "address"))
@click.option("--env-runners", type=int, default=2, show_default=True,
              help=field_help(TrainConfig, "env_runners"))
@click.option("--envs-per-runner", type=int, default=None,
              help=field_help(TrainConfig, "envs_per_runner"))
@options_option
@_friendly_errors
def train_command(
    env: str, algo: str, timesteps: int | None, n_envs: int | None, n_procs: int | None,
    seed: int | None, hyperparameters: tuple[str, ...], output_dir: Path, checkpoint_every: int,
    no_progress: bool, pin_cpus: bool, verbose: int, backend: str, address: str | None,
    env_runners: int, envs_per_runner: int | None, options: tuple[str, ...],
) -> None:
    """Train PPO or DQN (SB3, or Ray RLlib with --backend rllib), with TensorBoard logs."""
    from rlgodot.core.jobs.train import train

    config = TrainConfig(
        env=env, algo=algo, timesteps=timesteps, n_envs=n_envs, n_procs=n_procs, seed=seed,
        options=_parse_pairs(options, "--option"),
        hyperparameters=_parse_pairs(hyperparameters, "--hp"), output_dir=output_dir,
        checkpoint_every=checkpoint_every, progress_bar=not no_progress, pin_cpus=pin_cpus,
        verbose=verbose, backend=backend, address=address, env_runners=env_runners,
        envs_per_runner=envs_per_runner,
    )
    result = train(config)
    click.echo(
        f"trained {result.algo} on {result.env_id}: {result.timesteps} steps in "
        f"{result.wall_time_s:.1f} s ({result.steps_per_s:,.0f} steps/s)"
    )
    click.echo(f"model: {result.model_path}")
    click.echo(f"TensorBoard: tensorboard --logdir {result.run_dir}")
    click.echo(f"evaluate: rlgodot eval --env {result.env_id} --model {result.model_path}")


@main.command("eval")
@env_option
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Model .zip from 'rlgodot train' or an RLlib checkpoint directory; "
                   "default: the plugin's shipped model.")
@click.option("--algo", type=click.Choice(["ppo", "dqn"]), default=None,
              help="Algorithm of an SB3 model without metadata (default: from its .json).")
@click.option("--random", "random_policy", is_flag=True, help="Random actions (the baseline).")
@click.option("--episodes", default=10, show_default=True, help="Episodes to run.")
@click.option("--seed", default=0, show_default=True, help="Seed of instance 0 (i gets seed+i).")
@click.option("--n-envs", type=int, default=None, help="Instances (default min(episodes, 8)).")
@options_option
@json_option
@_friendly_errors
def eval_command(
    env: str, model: Path | None, algo: str | None, random_policy: bool, episodes: int,
    seed: int, n_envs: int | None, options: tuple[str, ...], as_json: bool,
) -> None:
    """Evaluate a model (or random actions) over seeded episodes."""
    from rlgodot.core.jobs.evaluate import evaluate

    result = evaluate(
        env, model=model, episodes=episodes, seed=seed, random_policy=random_policy,
        n_envs=n_envs, options=_parse_pairs(options, "--option"), algo=algo,
    )
    success = "n/a" if result.success_rate is None else f"{result.success_rate:.0%}"
    click.echo(
        f"{result.env_id} [{result.policy}]: {result.episodes} episodes, success {success}, "
        f"mean return {result.mean_return:.3f}, mean length {result.mean_length:.1f}"
    )
    for key, rate in result.outcome_rates.items():
        click.echo(f"  {key}: {rate:.0%} of episodes")
    if result.mean_success_seconds is not None:
        click.echo(f"  successful episodes: {result.mean_success_length:.1f} steps, "
                   f"{result.mean_success_seconds:.1f} s simulated")
    if as_json:
        click.echo(json.dumps(result.summary()))


@main.command("check")
@env_option
@click.option("--only", multiple=True, help="Run only these checks (repeatable).")
@click.option("--steps", default=2000, show_default=True, help="Random steps per check.")
@json_option
@_friendly_errors
def check_command(env: str, only: tuple[str, ...], steps: int, as_json: bool) -> None:
    """Run the conformance suite against an installed env (real headless Godot)."""
    from rlgodot.core.jobs.conformance import CHECKS, run_check

    names = list(only) or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        known = ", ".join(CHECKS)
        raise click.BadParameter(f"unknown {unknown}; known: {known}", param_hint="--only")
    results = []
    for name in names:
        result = run_check(env, name, steps)
        results.append(result)
        mark = "PASS" if result.passed else "FAIL"
        click.echo(f"{mark} {result.name:<24} {result.seconds:6.1f} s  {result.detail}")
    failed = [r for r in results if not r.passed]
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results]))
    if failed:
        sys.exit(1)


@main.command("doctor")
@click.option("--provision", is_flag=True,
              help="If no Godot >= 4.3 is found, install Debian's Godot 4 into the cache.")
@_friendly_errors
def doctor_command(provision: bool) -> None:
    """Show which Godot is used, how it was found, and whether a headless run works."""
    from rlgodot.core.jobs.doctor import doctor

    report = doctor(provision=provision)
    for key, value in report.lines:
        click.echo(f"{key:<14} {value}")
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
