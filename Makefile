# rlgodot developer commands. `make train` and `make test` set everything up first (idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
RLGODOT := $(VENV)/bin/rlgodot
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
PYTEST_ARGS ?=

.PHONY: setup install godot xvfb train test lint bench media clean

## setup: venv, CPU torch, rlgodot + bundled plugins, Godot (found, else provisioned), and Xvfb +
## Mesa for rendering without a display (as root)
setup: $(VENV)/.deps install godot xvfb

$(VENV)/.deps: pyproject.toml constraints.txt $(addsuffix pyproject.toml,$(PLUGINS))
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install setuptools wheel ruff
	$(PIP) install -c constraints.txt ".[rllib]" $(PLUGINS)
	touch $@

## install: reinstall rlgodot and the plugins from this tree (fast, no dependency changes)
install: $(VENV)/.deps
	$(PIP) install --no-deps --no-build-isolation --force-reinstall . $(PLUGINS)
	rm -rf build rlgodot.egg-info $(addsuffix build,$(PLUGINS)) $(addsuffix *.egg-info,$(PLUGINS))

## godot: make sure a Godot >= 4.3 runs headless (provisions one into ~/.cache/rlgodot if none)
godot: install
	$(RLGODOT) doctor --provision

## train: PPO on the example env, then evaluate the model it produced
train: setup
	$(RLGODOT) train --env ball --seed 0 --output-dir runs
	$(RLGODOT) eval --env ball --episodes 50 --model "$$(ls -td runs/ball-v0-ppo-*/ | head -n 1)model.zip"

## lint: ruff on Python, Godot's parser on every GDScript file
lint: install
	$(VENV)/bin/ruff check .
	$(PY) -m rlgodot.core.jobs.gdlint .

## xvfb: a virtual display with Mesa's software OpenGL, for render_mode="rgb_array", videos and
## the windowed tests (installed as root; else those tests skip locally and fail under CI)
XVFB_PACKAGES := xvfb x11-utils x11-apps libgl1-mesa-dri
xvfb:
	@{ command -v Xvfb && command -v xwininfo && command -v xwd; } >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(XVFB_PACKAGES) >/dev/null; } || \
	  echo "note: no Xvfb (apt-get install $(XVFB_PACKAGES)): rendering without a display and the windowed tests will not work"

## test: lint, then the whole test suite against real headless Godot
test: setup lint xvfb
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## bench: the speed figures of docs/BENCHMARKS.md (about 5 minutes; not part of CI)
bench: setup
	$(RLGODOT) bench --env null --sweep --pin-cpus
	$(RLGODOT) bench --env motorcycle --sweep --pin-cpus
	$(RLGODOT) bench --env parking3d --sweep --pin-cpus
	$(RLGODOT) bench --env motorcycle --sb3 200000 --n-envs 32 --procs 1 --pin-cpus
	$(RLGODOT) bench --env motorcycle --sb3 200000 --n-envs 64 --procs 2 --pin-cpus
	$(PY) benchmarks/rllib_vs_sb3.py --env motorcycle --timesteps 81920

## media: the README's GIFs of the shipped motorcycle and parking3d agents (docs/media/) and the
## plugin READMEs' screenshots (plugins/*/docs/screenshot.png)
media: install xvfb
	$(RLGODOT) eval --env motorcycle --video docs/media/motorcycle.mp4 --episodes 1 --seed 0
	$(RLGODOT) eval --env parking3d --video docs/media/parking3d.mp4 --episodes 1 --seed 3
	$(RLGODOT) screenshot --env motorcycle --out plugins/motorcycle/docs/screenshot.png --seed 7 --steps 76
	$(RLGODOT) screenshot --env parking3d --out plugins/parking3d/docs/screenshot.png --seed 3 --steps 22

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
