"""Reusable test support for env plugins (a pytest plugin, loaded through ``pytest11``).

In a plugin's own test suite, one line runs the whole conformance suite against its envs::

    from rlgodot.core.testing import conformance_test as test_conformance  # noqa: F401

``pytest --rlgodot-env my-env-v0`` limits it to some envs; fixtures ``godot_binary``,
``rlgodot_env_id``, ``rlgodot_check_name`` and ``rlgodot_steps`` are available to any test.
"""

from rlgodot.core.testing.pytest_plugin import conformance_test

__all__ = ["conformance_test"]
