"""The arguments every baseline takes: where to read, where to write, as which group."""

from __future__ import annotations

import argparse


def baseline_parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    return parser
