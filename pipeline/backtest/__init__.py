"""Backtesting rule sets offline: recorded declarations through the worker's screening code."""
