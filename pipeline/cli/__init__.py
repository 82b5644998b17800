"""The ``screening`` command line."""
