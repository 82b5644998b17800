"""Many plausible rules, for measuring how evaluation scales with the size of the rule set.

They vary the shapes the default rules use (HS prefixes, countries, routes, parties, masses,
descriptions) over real values, so that Polars does the same kind of work as with real rules.
Each one, like a targeting profile, narrows an origin or a route down to a commodity: on 5,000
generated declarations (5 % risky) the 953 generated rules match about 0.7 times per
declaration in all, and the share of declarations referred goes from about 5 % (default
rules) to about 7 %. Rules that each matched a fifth of the declarations would measure the
size of the assessments rather than the evaluation, and refer nearly every declaration.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import yaml

_COUNTRIES = ["CN", "VN", "IN", "TR", "AE", "MY", "TH", "ID", "PK", "BD", "HK", "SG", "PA", "BR"]
_WORDS = ["toys", "shoes", "cables", "pumps", "textiles", "valves", "tools", "lamps", "bags"]


def _where(rng: random.Random) -> dict[str, Any]:
    """Where the consignment comes from or passes through."""
    shape = rng.randrange(3)
    if shape == 0:
        return {"loading_country": {"in": rng.sample(_COUNTRIES, 3)}}
    if shape == 1:
        return {"transport.routing_countries": {"includes_any": rng.sample(_COUNTRIES, 2)}}
    return {
        "any_party": {
            "all": [
                {"role": {"equals": rng.choice(["consignor", "consignee"])}},
                {"country": {"in": rng.sample(_COUNTRIES, 2)}},
            ]
        }
    }


def _what(rng: random.Random) -> dict[str, Any]:
    """What the consignment holds."""
    shape = rng.randrange(4)
    if shape == 0:
        prefix = f"{rng.randrange(1, 97):02d}{rng.randrange(100):02d}"
        return {"any_goods": {"hs_code": {"prefix": prefix}}}
    if shape == 1:
        return {"any_goods": {"hs_chapter": {"equals": f"{rng.randrange(1, 97):02d}"}}}
    if shape == 2:
        chapter = f"{rng.randrange(1, 97):02d}"
        heavy = rng.choice([5000, 10000, 20000])
        return {
            "any_goods": {
                "all": [{"hs_chapter": {"equals": chapter}}, {"gross_mass_kg": {"gt": heavy}}]
            }
        }
    return {"any_goods": {"description": {"contains": rng.choice(_WORDS)}}}


def _condition(rng: random.Random) -> dict[str, Any]:
    # A targeting profile narrows an origin or a route down to a commodity: each matches a
    # small share of declarations, as the default rules do, not a fifth of them.
    return {"all": [_where(rng), _what(rng)]}


def synthetic_rule(index: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"SYN-{index:04d}",
        "version": 1,
        "title": f"Synthetic rule {index}",
        "owner": "load-tests",
        "reason": "synthetic profile matched",
        "review_by": "2099-12-31",
        "mode": "shadow" if rng.random() < 0.2 else "active",
        "action": "SCORE",
        "score": rng.choice([1, 2, 5]),
        "when": _condition(rng),
        # The benchmark never runs these cases; they satisfy the loader's rule that every rule
        # shows one.
        "cases": {"match": [{}]},
    }


def write_rule_folder(base: Path, target: Path, total: int, seed: int = 7) -> Path:
    """Copy the rule folder ``base`` to ``target`` and add rules until it holds ``total``."""
    shutil.copytree(base, target, dirs_exist_ok=True)
    existing = len(list(base.rglob("*.yaml")))
    rng = random.Random(seed)
    (target / "synthetic").mkdir(exist_ok=True)
    for index in range(max(0, total - existing)):
        rule = synthetic_rule(index, rng)
        (target / "synthetic" / f"{rule['id']}.yaml").write_text(yaml.safe_dump(rule))
    return target
