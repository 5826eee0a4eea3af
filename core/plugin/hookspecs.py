"""The plugin contract: the hooks an rlgodot env plugin implements.

A plugin is any module registered under the ``rlgodot`` entry-point group (or passed to
:meth:`rlgodot.core.plugin.registry.Registry.register`) that implements some of these hooks, marked
with :data:`hookimpl`. Hooks are called with keyword arguments, so a spec can grow new
arguments without breaking existing plugins (pluggy "opt-in arguments").
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from rlgodot.core.plugin.spec import EnvSpec

PROJECT_NAME = "rlgodot"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def rlgodot_env_specs() -> Sequence[EnvSpec]:
    """Describe the envs this plugin provides.

    Returns:
        One :class:`~rlgodot.core.plugin.spec.EnvSpec` per env id: spaces, the Godot scene (shipped
        inside the plugin package), raw state layout, decoder factory, options and training
        defaults. Ids must be unique across all installed plugins.
    """
