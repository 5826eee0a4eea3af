"""Export a trained model to run inside Godot: ``policy.json``, ``policy.onnx`` and a README."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlgodot.core.envs.options import split_options
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import ExportConfig, config_from
from rlgodot.core.jobs.models import load_env_model, shipped_model_path
from rlgodot.core.jobs.onnx_export import write_onnx
from rlgodot.core.jobs.policy_file import policy_document, policy_layers
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec

__all__ = ["ExportResult", "export_policy", "policy_document"]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Attributes:
        env_id: The env the policy acts on.
        model: The model exported.
        algorithm: ``"PPO"`` or ``"DQN"``.
        action_kind: ``"box"`` (clipped mean action) or ``"argmax"`` (action table).
        policy_json: The policy file Godot's ``RLPolicy`` loads.
        onnx: The same network as ONNX (observation -> network output).
        readme: How to use the files.
        onnx_difference: Largest absolute difference of onnxruntime from torch at the check.
    """

    env_id: str
    model: Path
    algorithm: str
    action_kind: str
    policy_json: Path
    onnx: Path
    readme: Path
    onnx_difference: float


def export_policy(config: ExportConfig | str, **overrides: Any) -> ExportResult:
    """Export a model to ``config.out``; see :class:`ExportConfig`.

    Called as ``export_policy(ExportConfig(env="ball", out=Path("exported")))`` or
    ``export_policy("ball", out=Path("exported"))``. Without ``model`` the plugin's shipped
    model is exported. The policy acts with the scene options the model was trained with (its
    sidecar's), stored in ``policy.json`` as ``scene_options``. Nothing is written unless the
    model can be exported.

    Raises:
        RLGodotError: Unknown env; no model given and the plugin ships none; the model is
            missing, of another env or not an MLP PPO/DQN; the env declares no
            ``EnvSpec.observation``; ``out`` cannot be written; onnxruntime disagrees with torch.
    """
    config = config_from(ExportConfig, config, overrides)
    spec = get_registry().get(config.env)
    path = Path(config.model) if config.model is not None else shipped_model_path(spec)
    model, metadata = load_env_model(spec, path, config.algo)
    document = policy_document(model, spec, _scene_options(spec, metadata))
    out = _output_dir(Path(config.out))
    onnx_path = out / "policy.onnx"
    difference = write_onnx(
        policy_layers(model), spec.observation_space, onnx_path,
        {"env_id": spec.id, "algorithm": document["algorithm"],
         "action_kind": document["action"]["kind"], "rlgodot_version": document["rlgodot_version"]},
    )
    policy_json = out / "policy.json"
    policy_json.write_text(json.dumps(document, indent=1) + "\n")
    readme = out / "README.md"
    readme.write_text(_readme_text(document, path))
    return ExportResult(
        env_id=spec.id, model=path, algorithm=document["algorithm"],
        action_kind=document["action"]["kind"], policy_json=policy_json, onnx=onnx_path,
        readme=readme, onnx_difference=difference,
    )


def _scene_options(spec: EnvSpec, metadata: dict[str, Any]) -> dict[str, Any]:
    """Every scene option: the model's saved ones over the env's defaults."""
    scene, _ = split_options(spec, metadata.get("options") or {})
    return {**spec.default_options("scene"), **scene}


def _output_dir(out: Path) -> Path:
    """``out``, made if missing.

    Raises:
        RLGodotError: It cannot be made or written to.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rlgodot-write-check"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise RLGodotError(
            f"cannot write the export to {out} ({exc.strerror or exc}); pass --out with a "
            "directory you can write to"
        ) from exc
    return out


def _readme_text(document: dict[str, Any], model: Path) -> str:
    """The README written beside an exported policy: what the files are, how to use them."""
    env_id, kind = document["env_id"], document["action"]["kind"]
    output = {"box": "the action mean", "argmax": "one score per action (argmax)"}[kind]
    return f"""# Exported policy: {env_id} ({document["algorithm"]})

Exported by rlgodot {document["rlgodot_version"]} from `{model.name}`.

- `policy.json`: the policy for Godot's `RLPolicy` (rlgodot addon): the observation as
  expressions over the scene's raw state, the network weights, the action mapping (`{kind}`)
  and the scene options the model was trained with.
- `policy.onnx`: the same network for other runtimes: input `observation` (float32, batch x
  {document["network"][0]["in"]}), output `output` ({output}); checked with onnxruntime against
  torch at export.

## Run it in Godot, with no Python

1. Copy `addons/rlgodot/` (print where it is installed:
   `python -c "from rlgodot.core.runtime.launcher.project import addon_dir; print(addon_dir())"`)
   and the env's scene folder into your Godot 4 project as `res://envs/<plugin>/`, and
   `policy.json` anywhere under `res://`. Set the project's physics tick rate to
   {document["physics_hz"]} (`physics/common/physics_ticks_per_second`), as in training.
2. Make a scene that instances the env's scene and add an `RLPolicyPlayer` node as a child of
   its root (the `RLAgent`); set its `policy_path` to `policy.json`. To see the agent, set the
   root's `watched = true` before it enters the tree (a `.tscn` line or `_enter_tree()`).
3. Import once (`godot --headless --path P --import`, or open the editor), then run the scene:
   every {document["action_repeat"]} physics ticks the player reads the agent's state,
   computes the observation and the network, and applies the action.

From a script, `RLPolicy.load_file("res://policy.json")` gives the policy itself:
`policy.decide(agent.get_state())` returns the wire action.

See docs/DEPLOY.md in the rlgodot repository for the whole tutorial.
"""
