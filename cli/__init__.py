"""The ``rlgodot`` command line: thin click commands over :mod:`rlgodot.core`."""
