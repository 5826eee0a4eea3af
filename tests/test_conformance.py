"""The conformance suite, parametrised over every installed env plugin and every check.

This is exactly what a third-party plugin's own test suite gets with the same import.
"""

from rlgodot.core.testing import conformance_test as test_conformance  # noqa: F401
