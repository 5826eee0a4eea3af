"""The protocol facts Python and GDScript must agree on, read from both sides and compared.

The addon keeps every protocol constant in ``net/protocol.gd`` (one ``const`` per line); this
test parses that file as shipped in the installed package and compares it with the Python
constants, so a change on one side only fails here instead of on the wire.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rlgodot.core import __version__
from rlgodot.core.runtime.client.async_client import SERVER_NAME, SERVER_NAME_PREFIX
from rlgodot.core.runtime.launcher.addon_install import installed_addon_version
from rlgodot.core.runtime.launcher.project import addon_dir
from rlgodot.core.runtime.protocol import codec, messages

CONST = re.compile(
    r'^const (\w+): (int|float|String) = (0x[0-9A-Fa-f]+|-?\d+\.\d+|-?\d+|"[^"]*")$'
)
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "PROTOCOL.md"


def _gd_constants() -> dict[str, int | float | str]:
    values: dict[str, int | float | str] = {}
    for line in (addon_dir() / "net" / "protocol.gd").read_text().splitlines():
        match = CONST.match(line)
        if match:
            name, kind, raw = match.groups()
            if kind == "int":
                values[name] = int(raw, 0)
            elif kind == "float":
                values[name] = float(raw)
            else:
                values[name] = raw[1:-1]
    return values


GD = _gd_constants()

PAIRS = {
    "PROTOCOL_VERSION": messages.PROTOCOL_VERSION,
    "MAX_ENVS": messages.MAX_N_ENVS,
    "MAX_SPIN_USEC": messages.MAX_SPIN_USEC,
    "MAX_ACTION_REPEAT": messages.MAX_ACTION_REPEAT,
    "MIN_REALTIME_FACTOR": messages.MIN_REALTIME_FACTOR,
    "MAX_REALTIME_FACTOR": messages.MAX_REALTIME_FACTOR,
    "MAX_BENCH_STEPS": messages.MAX_BENCH_STEPS,
    "HELLO_TIMEOUT_SEC": messages.HELLO_TIMEOUT_SEC,
    "FRAME_TIMEOUT_SEC": messages.FRAME_TIMEOUT_SEC,
    "TOKEN_ENV": messages.TOKEN_ENV,
    "SCRIPT_ERRORS_RAISE": messages.SCRIPT_ERRORS_MODES[0],
    "SCRIPT_ERRORS_WARN": messages.SCRIPT_ERRORS_MODES[1],
    "DEFAULT_MAX_FRAME_BYTES": messages.DEFAULT_MAX_FRAME_BYTES,
    "DEFAULT_N_ENVS": messages.SessionConfig().n_envs,
    "DEFAULT_ACTION_REPEAT": messages.SessionConfig().action_repeat,
    "DEFAULT_MAX_EPISODE_STEPS": messages.SessionConfig().max_episode_steps,
    "STATUS_TERMINATED": messages.TERMINATED,
    "STATUS_TRUNCATED": messages.TRUNCATED,
    "STATUS_RESET_STEP": messages.RESET,
    "CODEC_BINARY": messages.CODEC_BINARY,
    "CODEC_JSON": messages.CODEC_JSON,
    "AUTORESET_SAME_STEP": messages.AUTORESET_MODES[0],
    "AUTORESET_NEXT_STEP": messages.AUTORESET_MODES[1],
    "JSON_FIRST_BYTE": codec.JSON_START,
    "BINARY_MAGIC": codec.BINARY_MAGIC,
    "KIND_STEP": codec.KIND_STEP,
    "KIND_STEP_RESULT": codec.KIND_STEP_RESULT,
    "KIND_RESET_RESULT": codec.KIND_RESET_RESULT,
    "KIND_FRAMES": codec.KIND_FRAMES,
    "BINARY_HEADER_BYTES": codec.BINARY_HEADER.size,
    "VIEWER_NONE": messages.VIEWER_MODES[0],
    "VIEWER_WINDOW": messages.VIEWER_MODES[1],
    "VIEWER_OFFSCREEN": messages.VIEWER_MODES[2],
    "DEFAULT_VIEW_WIDTH": messages.DEFAULT_VIEW_SIZE[0],
    "DEFAULT_VIEW_HEIGHT": messages.DEFAULT_VIEW_SIZE[1],
    "MIN_VIEW_SIDE": messages.MIN_VIEW_SIDE,
    "MAX_VIEW_SIDE": messages.MAX_VIEW_SIDE,
    "SERVER_NAME": SERVER_NAME,
    "TYPE_ACT": messages.TYPE_ACT,
    "DEFAULT_ATTACH_PORT": messages.DEFAULT_ATTACH_PORT,
    "ATTACH_ARG": messages.ATTACH_ARG,
    "MAX_PHYSICS_HZ": messages.MAX_PHYSICS_HZ,
}


def test_the_constants_file_parses():
    assert len(GD) >= len(PAIRS), "net/protocol.gd lost constants or its one-literal-per-line form"


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_gdscript_constant_equals_python(name):
    assert name in GD, f"net/protocol.gd has no constant {name}"
    assert GD[name] == PAIRS[name], f"{name}: GDScript {GD[name]!r}, Python {PAIRS[name]!r}"


def test_python_closing_error_codes_are_godot_error_codes():
    godot_codes = {v for k, v in GD.items() if k.startswith("ERROR_")}
    assert godot_codes >= messages.CLOSING_ERROR_CODES


def test_every_message_type_and_error_code_is_documented():
    docs = DOCS.read_text()
    names = [k for k in GD if k.startswith(("TYPE_", "ERROR_"))]
    assert len(names) >= 15
    missing = [GD[k] for k in names if f"`{GD[k]}`" not in docs]
    assert not missing, f"docs/PROTOCOL.md does not mention {missing}"


def test_every_constant_line_parses():
    """A constant the regular expression cannot read would silently escape the comparison."""
    lines = (addon_dir() / "net" / "protocol.gd").read_text().splitlines()
    consts = [line for line in lines if line.startswith("const ")]
    assert len(consts) == len(GD), [c for c in consts if not CONST.match(c)]


def test_notice_prefix_is_the_notice_type():
    from rlgodot.core.runtime.protocol.framing import NOTICE_PREFIX

    assert f'{{"type":"{GD["TYPE_SCRIPT_ERRORS"]}"'.encode() == NOTICE_PREFIX


def test_result_kind_names_match():
    godot_kinds = {
        GD["TYPE_STEP_RESULT"]: GD["KIND_STEP_RESULT"],
        GD["TYPE_RESET_RESULT"]: GD["KIND_RESET_RESULT"],
    }
    assert godot_kinds == codec.RESULT_KINDS


def test_one_version_everywhere():
    """The package, its pyproject, the addon's plugin.cfg and the server's hello name agree.

    The hello check (``AddonVersionMismatch``) compares the last with the first, so a release
    that bumps one and not the others would refuse its own addon.
    """
    project = re.search(r"^\[project\]$(.*?)^\[", (ROOT / "pyproject.toml").read_text(),
                        re.MULTILINE | re.DOTALL)
    assert project is not None, "pyproject.toml has no [project] table"
    pyproject = re.search(r'^version = "([^"]+)"$', project.group(1), re.MULTILINE)
    assert pyproject is not None, "pyproject.toml's [project] has no version"
    addon = installed_addon_version(addon_dir().parents[1])  # the addon as a project holds it
    server = str(GD["SERVER_NAME"]).removeprefix(SERVER_NAME_PREFIX)
    versions = {"rlgodot.__version__": __version__, "pyproject.toml": pyproject.group(1),
                "plugin.cfg": addon, "protocol.gd SERVER_NAME": server}
    assert len(set(versions.values())) == 1, versions
