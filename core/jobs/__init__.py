"""What a user runs: each module is one job, configured by a dataclass of :mod:`.config`.

``train``, ``evaluate``, ``run`` (random actions), ``play`` (keyboard), ``bench``,
``conformance`` (``rlgodot check``), ``doctor``, ``rllib`` (the Ray RLlib backend of ``train``).
The CLI is a thin layer over these functions.
"""
