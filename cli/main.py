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

from rlgodot.cli.config_options import config_options, given_values
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import (
    BenchConfig,
    CheckConfig,
    EvalConfig,
    ExportConfig,
    NewEnvConfig,
    PlayConfig,
    RunConfig,
    ScreenshotConfig,
    TrainConfig,
    field_help,
)

F = TypeVar("F", bound=Callable[..., Any])


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


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object last.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlgodot")
def main() -> None:
    """Reinforcement learning in Python driving Godot 4 simulations.

    Start with 'rlgodot doctor', then 'rlgodot list-envs' and 'rlgodot train --env ball'.
    """


@main.command("list-envs")
@click.option("--env", "env", default=None,
              help=field_help(TrainConfig, "env") + " Shows one env in detail (options, defaults).")
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
            if spec.project is not None:
                click.echo(f"{'':<24} in the Godot project {spec.project}")
            click.echo(
                f"{'':<24} max_episode_steps {spec.max_episode_steps}, action_repeat "
                f"{spec.action_repeat}, physics {spec.physics_hz} Hz"
            )
            for name, opt in spec.options.items():
                allowed = f" [{opt.describe_range()}]" if opt.describe_range() else ""
                click.echo(
                    f"{'':<24} option {name}={opt.default!r}{allowed} ({opt.target}): {opt.help}"
                )
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
        "scene": spec.scene_res_path,
        "project": str(spec.project) if spec.project is not None else None,
        "options": {
            n: {"default": o.default, "help": o.help, "target": o.target, "low": o.low,
                "high": o.high, "choices": list(o.choices) if o.choices else None}
            for n, o in spec.options.items()
        },
        "model": str(spec.model) if spec.model else None,
    }


@main.command("run")
@config_options(RunConfig)
@click.option("--human", is_flag=True, help="Play it yourself in a window instead (= 'play').")
@json_option
@_friendly_errors
def run_command(human: bool, as_json: bool, **values: Any) -> None:
    """Step an env with random actions and print steps/s."""
    if human:
        from rlgodot.core.jobs.play import play

        _exit_with_play(play(PlayConfig(env=values["env"], options=values["options"])))
    from rlgodot.core.jobs.run import run_random

    result = run_random(RunConfig(**values))
    click.echo(
        f"{result.env_id}: {result.steps} steps with {result.n_envs} instances in "
        f"{result.n_procs} process(es): {result.steps_per_s:,.0f} steps/s; "
        f"{result.episodes} episodes ended; first observation {result.launch_s:.2f} s after launch"
    )
    if as_json:
        click.echo(json.dumps(result.summary()))


@main.command("bench")
@config_options(BenchConfig)
@json_option
@_friendly_errors
def bench_command(as_json: bool, **values: Any) -> None:
    """Random-action throughput vs the engine's own limit (same scene, same run)."""
    from rlgodot.core.jobs.bench import bench_sb3, bench_sweep
    from rlgodot.core.plugin.registry import get_registry

    config = BenchConfig(**values)
    if config.sb3_timesteps:
        sb3 = bench_sb3(config)
        click.echo(f"{sb3.env_id}: SB3 PPO {sb3.godot_fps:,.0f} fps on Godot, "
                   f"{sb3.ceiling_fps:,.0f} fps on a free env: {sb3.ratio:.0%} of SB3's ceiling")
        if as_json:
            click.echo(json.dumps(sb3.summary()))
        return

    cameras = get_registry().get(config.env).image_space is not None
    click.echo(f"{'n_envs':>6} {'procs':>5} {'decisions/s':>12} {'ticks/s':>12} "
               f"{'engine/s':>12} {'ratio':>6}"
               + (f" {'engine/s no capture':>20}" if cameras else ""))
    results = []
    for result in bench_sweep(config):
        results.append(result.summary())
        no_capture = result.engine_no_capture_decisions_per_s
        click.echo(f"{result.n_envs:>6} {result.procs:>5} {result.decisions_per_s:>12,.0f} "
                   f"{result.ticks_per_s:>12,.0f} {result.engine_decisions_per_s:>12,.0f} "
                   f"{result.ratio:>6.2f}" + (f" {no_capture:>20,.0f}" if cameras else ""))
    if cameras:
        click.echo(f"camera observations {tuple(result.image_shape)}: each decision is one "
                   "captured image (engine/s captures too; the last column does not)")
    if as_json:
        click.echo(json.dumps(results if config.sweep else results[0]))


@main.command("play")
@config_options(PlayConfig)
@_friendly_errors
def play_command(**values: Any) -> None:
    """Play an env with the keyboard in a Godot window (needs a display)."""
    from rlgodot.core.jobs.play import play

    _exit_with_play(play(PlayConfig(**values)))


def _exit_with_play(result: Any) -> None:
    for line in result.script_errors:
        click.echo(f"Godot: {line}", err=True)
    sys.exit(result.exit_code)


@main.command("train")
@config_options(TrainConfig, optional=("env",))
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="YAML file of settings, env options and hyperparameters (RL Zoo style); "
                   "flags given here override it.")
@click.option("--print-config", is_flag=True,
              help="Print the plugin's defaults for --env/--algo as a --config file and exit.")
@click.pass_context
@_friendly_errors
def train_command(
    ctx: click.Context, config_file: Path | None, print_config: bool, **values: Any
) -> None:
    """Train PPO or DQN (SB3, or Ray RLlib with --backend rllib), with TensorBoard logs."""
    from rlgodot.core.jobs.train import train
    from rlgodot.core.jobs.train_file import defaults_yaml, train_config

    if print_config:
        if not values["env"]:
            raise RLGodotError("--print-config needs --env NAME (see 'rlgodot list-envs')")
        click.echo(defaults_yaml(values["env"], values["algo"]), nl=False)
        return
    result = train(train_config(given_values(ctx, values), config_file))
    extra = (f" ({result.requested_timesteps} requested, rounded up to whole rollouts)"
             if result.requested_timesteps not in (0, result.timesteps) else "")
    click.echo(
        f"trained {result.algo} on {result.env_id}: {result.timesteps} steps{extra} in "
        f"{result.wall_time_s:.1f} s ({result.steps_per_s:,.0f} steps/s)"
    )
    if result.restarts:
        click.echo(f"Godot restarted {result.restarts} time(s) after a crash or hang")
    click.echo(f"model: {result.model_path}")
    if result.best_model_path is not None:
        click.echo(f"best model (evaluation during training): {result.best_model_path}")
    click.echo(f"TensorBoard: tensorboard --logdir {result.run_dir}")
    click.echo(f"evaluate: rlgodot eval --env {result.env_id} --model {result.model_path}")


@main.command("eval")
@config_options(EvalConfig)
@json_option
@_friendly_errors
def eval_command(as_json: bool, **values: Any) -> None:
    """Evaluate a model (or random actions) over seeded episodes; watch or record them."""
    from rlgodot.core.jobs.evaluate import evaluate

    result = evaluate(EvalConfig(**values))
    success = "n/a" if result.success_rate is None else f"{result.success_rate:.0%}"
    click.echo(
        f"{result.env_id} [{result.policy}]: {result.episodes} episodes, success {success}, "
        f"mean return {result.mean_return:.3f}, mean length {result.mean_length:.1f}"
    )
    options = ", ".join(f"{k}={v}" for k, v in sorted(result.options.items()))
    click.echo(f"  options: {options or 'the env defaults'}")
    for key, rate in result.outcome_rates.items():
        click.echo(f"  {key}: {rate:.0%} of episodes")
    if result.mean_success_seconds is not None:
        click.echo(f"  successful episodes: {result.mean_success_length:.1f} steps, "
                   f"{result.mean_success_seconds:.1f} s simulated")
    if result.video is not None:
        click.echo(f"video: {result.video} ({result.video_frames} frames); loop: {result.loop}")
    if as_json:
        click.echo(json.dumps(result.summary()))


@main.command("screenshot")
@config_options(ScreenshotConfig)
@json_option
@_friendly_errors
def screenshot_command(as_json: bool, **values: Any) -> None:
    """Picture an agent's seeded episode K steps in: one offscreen frame to a PNG."""
    from rlgodot.core.jobs.screenshot import screenshot

    result = screenshot(ScreenshotConfig(**values))
    ended = f", episode {result.ended}" if result.ended else ""
    click.echo(f"{result.env_id} [{result.policy}]: {result.path} ({result.size[0]}x"
               f"{result.size[1]}, after {result.steps} steps{ended})")
    if as_json:
        click.echo(json.dumps(result.summary()))


@main.command("export")
@config_options(ExportConfig)
@_friendly_errors
def export_command(**values: Any) -> None:
    """Export a model (the shipped one by default) to run in Godot with no Python."""
    from rlgodot.core.jobs.export import export_policy

    result = export_policy(ExportConfig(**values))
    click.echo(f"exported {result.algorithm} on {result.env_id} ({result.action_kind} actions) "
               f"from {result.model}")
    click.echo(f"  {result.policy_json}  (for RLPolicy / RLPolicyPlayer in Godot)")
    click.echo(f"  {result.onnx}  (onnxruntime within {result.onnx_difference:.1g} of torch)")
    click.echo(f"  {result.readme}")


@main.group("addon")
def addon_group() -> None:
    """The rlgodot addon inside your own Godot project."""


@addon_group.command("install")
@click.argument("project", type=click.Path(path_type=Path))
@_friendly_errors
def addon_install_command(project: Path) -> None:
    """Copy (or update) the addon into the Godot PROJECT folder and enable it."""
    from rlgodot.core import install_addon

    result = install_addon(project)
    was = f"updated from {result.previous}" if result.previous else "new"
    click.echo(f"rlgodot addon {result.version} -> {result.path} ({was})")
    click.echo("editor plugin " + ("enabled in project.godot" if result.enabled
                                   else "already enabled"))


@main.command("new-env", help=(
    "Write a new env plugin package to start from: it installs with pip, passes 'rlgodot "
    f"check' and trains as it is.\n\nNAME: {field_help(NewEnvConfig, 'name')}"))
@config_options(NewEnvConfig)
@_friendly_errors
def new_env_command(**values: Any) -> None:
    """Write a new env plugin package (help: the command's ``help``, which names NAME's rules)."""
    from rlgodot.core.jobs.new_env import new_env

    result = new_env(NewEnvConfig(**values))
    click.echo(f"wrote {result.package_dir} ({result.env_id}, import name {result.import_name})")
    if values["project"] is not None:
        click.echo(f"scene: {result.scene_dir} (run train.tscn in the editor to train attached)")
    if result.addon is not None:
        click.echo(f"rlgodot addon {result.addon.version} -> {result.addon.path} (new)")
    if values["project"] is not None and not result.imported:
        click.echo("no Godot found to import the project: open it once in the Godot editor "
                   "(it imports it) before running its scenes from a terminal")
    click.echo(f"next: pip install -e {result.package_dir} && rlgodot check --env "
               f"{result.env_id} && rlgodot train --env {result.env_id}")


@main.command("check")
@config_options(CheckConfig)
@json_option
@_friendly_errors
def check_command(as_json: bool, **values: Any) -> None:
    """Run the conformance suite against an installed env (real headless Godot)."""
    from rlgodot.core.jobs.conformance import check_names, run_check

    config = CheckConfig(**values)
    results = []
    for name in check_names(config):
        result = run_check(config.env, name, config.steps)
        results.append(result)
        mark = "PASS" if result.passed else "FAIL"
        click.echo(f"{mark} {result.name:<24} {result.seconds:6.1f} s  {result.detail}")
        for warning in result.warnings:
            click.echo(f"     warning: {warning}")
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
