"""The ``screening`` command line: an edge, which may import every other package.

Offers ``main.run`` (the console script) and ``main.main`` (the same with arguments, for
tests); each other module holds one command or command group. Only ``pipeline.__main__`` imports
from ``cli``.
"""
