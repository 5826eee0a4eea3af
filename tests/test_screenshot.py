"""``rlgodot screenshot``: a PNG of the size asked for, showing a scene (not a flat colour);
bad inputs fail in one line before Godot starts."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rlgodot.cli.main import main
from rlgodot.core.errors import InvalidOption
from rlgodot.core.jobs.screenshot import write_png


def read_png(path: Path) -> np.ndarray:
    """Decode the 8-bit RGB PNGs write_png makes (filter type 0 on every row)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8]
        chunks[kind] = chunks.get(kind, b"") + data[at + 8:at + 8 + length]
        crc = int.from_bytes(data[at + 8 + length:at + 12 + length], "big")
        assert crc == zlib.crc32(kind + data[at + 8:at + 8 + length]), kind
        at += 12 + length
    width, height = (int.from_bytes(chunks[b"IHDR"][k:k + 4], "big") for k in (0, 4))
    assert chunks[b"IHDR"][8:10] == bytes([8, 2]), "8-bit RGB"
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 3)


def test_write_png_round_trips(tmp_path):
    frame = np.random.default_rng(0).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    write_png(tmp_path / "a.png", frame)
    assert np.array_equal(read_png(tmp_path / "a.png"), frame)
    with pytest.raises(InvalidOption, match="HxWx3 uint8"):
        write_png(tmp_path / "b.png", frame.astype(np.float32))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "shot.jpg"], "must end in .png; pass e.g. shot.png"),
        (["--out", "/proc/no/such/dir/shot.png"], "cannot write the screenshot"),
        (["--out", "shot.png", "--size", "8", "8"], "--size must be (width, height)"),
        (["--out", "shot.png", "--steps", "-1"], "steps (--steps) must be at least 0"),
        (["--out", "shot.png", "--random", "--model", "m.zip"], "--model and --random exclude"),
        (["--out", "shot.png", "--env", "no-such-env"], "no-such-env"),
    ],
)
def test_bad_inputs_are_one_line_before_godot(monkeypatch, tmp_path, args, message):
    monkeypatch.setenv("GODOT_BIN", str(tmp_path / "no-godot-here"))  # Godot must not start
    monkeypatch.chdir(tmp_path)
    env = [] if "--env" in args else ["--env", "motorcycle"]
    out = CliRunner().invoke(main, ["screenshot", *env, *args])
    assert out.exit_code != 0, out.output
    assert message in out.output and len(out.output.strip().splitlines()) == 1, out.output
    assert "Traceback" not in out.output
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.godot
def test_screenshot_of_the_motorcycle_is_a_picture_of_the_size_asked(godot_binary, xvfb,
                                                                     tmp_path):
    path = tmp_path / "docs" / "moto.png"
    out = CliRunner().invoke(main, ["screenshot", "--env", "motorcycle", "--out", str(path),
                                    "--size", "320", "200", "--steps", "12", "--seed", "3",
                                    "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output.splitlines()[-1])
    assert summary["size"] == [320, 200] and summary["steps"] == 12 and summary["ended"] == ""
    image = read_png(path)
    assert image.shape == (200, 320, 3)
    # a scene, not a flat colour: many distinct colours, and the sky differs from the ground
    colours = np.unique(image.reshape(-1, 3), axis=0)
    assert len(colours) > 200, len(colours)
    top, bottom = image[:40].mean(axis=(0, 1)), image[-40:].mean(axis=(0, 1))
    assert np.abs(top - bottom).max() > 40, (top, bottom)
    # the same settings give the same picture
    again = tmp_path / "again.png"
    out = CliRunner().invoke(main, ["screenshot", "--env", "motorcycle", "--out", str(again),
                                    "--size", "320", "200", "--steps", "12", "--seed", "3"])
    assert out.exit_code == 0, out.output
    assert np.array_equal(read_png(again), image)
