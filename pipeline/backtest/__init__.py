"""Backtesting rule sets offline: recorded declarations through the worker's screening code.

Offers ``screen`` (screenings of a file, kept as the worker keeps versions), ``parallel``
(the same over processes), ``reference`` (reference data from CSV files), ``report`` and
``export`` (the report and its JSON and CSV files), used by ``screening rules backtest``.
Imports the pure packages and ``settings``; never ``worker``, ``kafka``, ``workbench`` or
``cli``.
"""
