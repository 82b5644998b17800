"""deploy/k8s/rules-configmap.yaml: the rule folder as a Kubernetes ConfigMap.

A ConfigMap holds files under flat keys only, so ``goods/hs-arms-93.yaml`` becomes the key
``goods__hs-arms-93.yaml``; the pods' init container puts each key back at its path before
the rule set is loaded (the shell loop in deploy/k8s/). After changing a rule, regenerate:

    python -m pipeline.ops.rules_configmap          # writes the manifest
    python -m pipeline.ops.rules_configmap --check  # exit 1 when it differs from rules/
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
MANIFEST = ROOT / "deploy" / "k8s" / "rules-configmap.yaml"
NAME = "screening-rules"
SEPARATOR = "__"
SUFFIXES = (".yaml", ".yml", ".txt")
LABELS = {"app.kubernetes.io/name": "customs-screening", "app.kubernetes.io/component": "rules"}
HEADER = (
    "# Generated from rules/ by python -m pipeline.ops.rules_configmap: do not edit by hand.\n"
    "# Keys are the files' paths with '/' written as '__'.\n"
)


def key_for(relative: Path) -> str:
    return SEPARATOR.join(relative.parts)


def path_for(key: str) -> Path:
    return Path(*key.split(SEPARATOR))


def configmap(rules_dir: Path = RULES_DIR) -> dict[str, Any]:
    files = sorted(p for p in rules_dir.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    data = {key_for(p.relative_to(rules_dir)): p.read_text(encoding="utf-8") for p in files}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "labels": LABELS},
        "data": data,
    }


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line values as literal blocks: the rules stay readable in the manifest."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _text)


def render(rules_dir: Path = RULES_DIR) -> str:
    body = yaml.dump(
        configmap(rules_dir), Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=100
    )
    return HEADER + body


def main(argv: Sequence[str] = ()) -> int:
    text = render()
    if "--check" in argv:
        if not MANIFEST.exists() or MANIFEST.read_text(encoding="utf-8") != text:
            print(
                f"out of date: {MANIFEST.relative_to(ROOT)}; "
                "run python -m pipeline.ops.rules_configmap",
                file=sys.stderr,
            )
            return 1
        return 0
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    MANIFEST.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
