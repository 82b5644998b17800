"""Sample data for demos, tests and benchmarks.

Offers ``generator.DeclarationGenerator`` (synthetic declarations, used by ``screening
generate``), ``record`` (a recording to backtest on), ``ams`` (real US manifests as
declarations), ``reference`` (the bundled reference data) and ``c2c_demo``. Imports the pure
packages and ``kafka``; never ``worker``, ``workbench`` or ``cli``.
"""
