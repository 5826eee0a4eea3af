"""RaySensor2D and RaySensor3D in real Godot: readings of known obstacles (tests/sensor_scene/).

The scene's agent puts both sensors' write_to() output in its state; each case resets with
scene options that reconfigure the sensors, and compares every ray with the distance the
geometry gives (sensor_agent.gd's header: wall 5 m / 500 px ahead, crate at 3 m / 300 px on the
right, area at 2 m / 200 px on the left, the own body's bumper at 0.9 m / 90 px, nothing behind;
lengths 10 m / 1000 px). One Godot process serves every case.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, assemble_project
from rlgodot.core.runtime.protocol.messages import SessionConfig
from rlgodot.core.runtime.session import GodotSession

pytestmark = pytest.mark.godot

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "godot" / "addons" / "rlgodot"
SCENE_DIR = Path(__file__).resolve().parent / "sensor_scene"
SCENE = "res://envs/sensors/sensor_scene.tscn"
MAX_RAYS = 8  # the scene's sensors: 8 rays, hit classes on (this fixes the state names)
SLOT = 2 * MAX_RAYS
DIAGONAL = math.sqrt(2.0) / 2.0  # the wall 5 m ahead seen 45 degrees off: 5 * sqrt(2) of 10
TOLERANCE = 2e-6  # float32 hit points

BASE: dict[str, Any] = {
    "ray_count": 4, "spread_degrees": 360.0, "collision_mask": 3, "collide_with_areas": False,
    "collide_with_bodies": True, "exclude_parent": True, "exclude_wall": False,
    "classes": False, "yaw_degrees": 0.0, "pitch_degrees": 0.0, "level": False,
}


# Godot's own 3D physics and Jolt (parking3d's engine); 2D is Godot's in both.
ENGINES = {"godot_physics_3d": {}, "jolt": {"physics": {"3d/physics_engine": '"Jolt Physics"'}}}


@pytest.fixture(scope="module", params=sorted(ENGINES))
def project(request: pytest.FixtureRequest, godot_binary: GodotBinary) -> Path:
    return assemble_project(ADDON, {"sensors": SCENE_DIR}, ENGINES[request.param], godot_binary)


@pytest.fixture(scope="module")
def session(godot_binary: GodotBinary, project: Path) -> Iterator[GodotSession]:
    config = SessionConfig(n_envs=1, action_repeat=1, options=BASE)
    with GodotSession.launch(GodotCommand(godot_binary, project, SCENE), n_envs=1,
                             config=config) as running:
        yield running


def read(session: GodotSession, **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """The 3D and the 2D sensor's write_to() slots after a reset with ``options``."""
    state = session.reset(seeds=[0], options=options).states[0]
    return state[:SLOT], state[SLOT:2 * SLOT]


def read_lines(session: GodotSession) -> float:
    """The 3D sensor's internal children (its line mesh) in the headless session."""
    return float(session.reset(seeds=[0]).states[0][-1])


def check_slot(slot: np.ndarray, distances: list[float], classes: list[float] | None) -> None:
    """``slot`` holds ``distances`` (then ``classes``), then -1 padding: no float more."""
    want = list(distances) + (list(classes) if classes is not None else [])
    np.testing.assert_allclose(slot[:len(want)], want, atol=TOLERANCE)
    assert (slot[len(want):] == -1.0).all(), slot


CASES: list[tuple[str, dict[str, Any], list[float], list[float] | None]] = [
    # 360 degrees, 4 rays: ahead, right, behind, left (clockwise); no duplicate of ray 0
    ("four_all_around", {}, [0.5, 0.3, 1.0, 1.0], None),
    ("areas_too", {"collide_with_areas": True}, [0.5, 0.3, 1.0, 0.2], None),
    ("areas_only", {"collide_with_areas": True, "collide_with_bodies": False},
     [1.0, 1.0, 1.0, 0.2], None),
    ("mask_layer_1", {"collision_mask": 1}, [0.5, 1.0, 1.0, 1.0], None),
    ("mask_layer_2", {"collision_mask": 2}, [1.0, 0.3, 1.0, 1.0], None),
    ("own_body_seen", {"exclude_parent": False}, [0.09, 0.3, 1.0, 1.0], None),
    ("exclude_list", {"exclude_wall": True}, [1.0, 0.3, 1.0, 1.0], None),
    ("eight_all_around", {"ray_count": 8},
     [0.5, DIAGONAL, 0.3, 1.0, 1.0, 1.0, 1.0, DIAGONAL], None),
    ("three_all_around", {"ray_count": 3}, [0.5, 1.0, 1.0], None),  # 0, 120, 240 degrees
    # fans: centred on the forward axis, both edges included, left edge first
    ("fan_90_3", {"ray_count": 3, "spread_degrees": 90.0}, [DIAGONAL, 0.5, DIAGONAL], None),
    ("fan_180_3", {"ray_count": 3, "spread_degrees": 180.0, "collide_with_areas": True},
     [0.2, 0.5, 0.3], None),
    ("fan_180_2", {"ray_count": 2, "spread_degrees": 180.0}, [1.0, 0.3], None),
    ("one_ray", {"ray_count": 1, "spread_degrees": 120.0}, [0.5], None),
    # the rays turn with the body
    ("turned_right", {"yaw_degrees": 90.0}, [0.3, 1.0, 1.0, 0.5], None),
    ("turned_left", {"yaw_degrees": -90.0, "collide_with_areas": True}, [0.2, 0.5, 0.3, 1.0],
     None),
    # hit class: 0 = nothing or no listed group (the wall), 1 = "zone", 2 = "crate"
    ("classes", {"classes": True, "collide_with_areas": True}, [0.5, 0.3, 1.0, 0.2],
     [0.0, 2.0, 0.0, 1.0]),
]


@pytest.mark.parametrize(("options", "distances", "classes"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_both_sensors_read_the_known_obstacles(session, options, distances, classes):
    slot_3d, slot_2d = read(session, **options)
    check_slot(slot_3d, distances, classes)
    check_slot(slot_2d, distances, classes)


def test_state_names_and_write_to_offsets(session):
    rays = [f"{p}_{i}" for p in ("ray3d", "ray3d_class") for i in range(MAX_RAYS)]
    rays_2d = [name.replace("3d", "2d") for name in rays]
    assert list(session.info.state_names) == [*rays, *rays_2d, "end3d", "end2d", "lines3d"]
    state = session.reset(seeds=[0], options={"ray_count": 5}).states[0]
    assert state[2 * SLOT:2 * SLOT + 2].tolist() == [5.0, SLOT + 5.0]  # offset + state_size()
    state = session.reset(seeds=[0], options={"ray_count": 5, "classes": True}).states[0]
    assert state[2 * SLOT:2 * SLOT + 2].tolist() == [10.0, SLOT + 10.0]


def test_level_keeps_3d_rays_horizontal_when_the_body_pitches(session):
    # nose down 30 degrees: the forward ray passes under the wall (its foot is 1 m down at 5 m)
    slot_3d, slot_2d = read(session, pitch_degrees=30.0)
    check_slot(slot_3d, [1.0, 0.3, 1.0, 1.0], None)
    check_slot(slot_2d, [0.5, 0.3, 1.0, 1.0], None)
    slot_3d, _ = read(session, pitch_degrees=30.0, level=True)
    check_slot(slot_3d, [0.5, 0.3, 1.0, 1.0], None)


def test_readings_are_normalised(session):
    for options in ({}, {"ray_count": 8, "collide_with_areas": True}, {"exclude_parent": False}):
        slot_3d, slot_2d = read(session, **options)
        for slot in (slot_3d, slot_2d):
            rays = slot[:options.get("ray_count", 4)]
            assert ((rays > 0.0) & (rays <= 1.0)).all(), rays


def test_watched_sensors_draw_their_rays(session, godot_binary, project, xvfb_display):
    # Seen from above, the 3D sensor's origin is left of the view's centre (the camera is 6 m to
    # its right) and the 2D sensor's at the centre; each draws orange lines up to its hits
    # (nothing else in the scene is orange). Unwatched, the 3D sensor builds no line mesh.
    assert read_lines(session) == 0.0
    command = GodotCommand(godot_binary, project, SCENE, headless=False)
    config = SessionConfig(n_envs=1, action_repeat=1, options=BASE, viewer="offscreen",
                           view_size=(160, 90))
    with GodotSession.launch(command, n_envs=1, config=config) as watched:
        state = watched.reset(seeds=[0]).states[0]
        frame = watched.render()[0].astype(int)
    check_slot(state[:SLOT], [0.5, 0.3, 1.0, 1.0], None)
    assert state[-1] == 1.0
    red, green, blue = frame[..., 0], frame[..., 1], frame[..., 2]
    orange = (red > 200) & (green > 70) & (green < 160) & (blue < 80)
    left, right = orange[:, :70].sum(), orange[:, 76:].sum()
    assert left >= 5 and right >= 5, f"orange pixels: 3D side {left}, 2D side {right}"
