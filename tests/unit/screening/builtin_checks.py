"""A small evaluator in plain Python, standing in for the rule engine in screening tests.

It checks a handful of indicators (arms and explosives by HS code, wrong container check
digits, totals that disagree with the items), so that the batch logic (versions, hits,
tombstones, dead letters) is tested apart from the rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from stdnum import iso6346

from pipeline.contract.models import Declaration, Match, PartyStatus
from pipeline.screening.enrich import Enriched, Enricher
from pipeline.screening.evaluation import Evaluation

RULESET_VERSION = "builtin-1"
_ARMS_CHAPTER = "93"
_EXPLOSIVES_HEADINGS = ("3601", "3602", "3603", "3604")
_TOTALS_TOLERANCE = 0.10


class BuiltinChecks:
    ruleset_version = RULESET_VERSION

    def enrich(self, declarations: Sequence[Declaration]) -> list[Enriched]:
        return Enricher().enrich(declarations)

    def evaluate(self, batch: Sequence[Enriched]) -> list[Evaluation]:
        return [_evaluate_one(enriched.declaration) for enriched in batch]


def _evaluate_one(declaration: Declaration) -> Evaluation:
    matches: list[Match] = []
    matches.extend(_hs_of_concern(declaration))
    matches.extend(_container_check_digits(declaration))
    matches.extend(_gross_mass_totals(declaration))
    return Evaluation(matches=matches, parties=_parties_unchecked(declaration))


def _hs_of_concern(declaration: Declaration) -> list[Match]:
    found: list[Match] = []
    arms = {
        f"goods[{i}].hs_code": item.hs_code
        for i, item in enumerate(declaration.goods or [])
        if item.hs_code and item.hs_code.startswith(_ARMS_CHAPTER)
    }
    if arms:
        found.append(
            Match(
                "BUILTIN-HS-ARMS",
                1,
                "HRCM",
                60.0,
                "arms or ammunition declared (HS chapter 93: "
                f"{', '.join(sorted(set(arms.values())))})",
                arms,
            )
        )
    explosives = {
        f"goods[{i}].hs_code": item.hs_code
        for i, item in enumerate(declaration.goods or [])
        if item.hs_code and item.hs_code.startswith(_EXPLOSIVES_HEADINGS)
    }
    if explosives:
        found.append(
            Match(
                "BUILTIN-HS-EXPLOSIVES",
                1,
                "HRCM",
                60.0,
                "explosives or pyrotechnics declared (HS 3601-3604: "
                f"{', '.join(sorted(set(explosives.values())))})",
                explosives,
            )
        )
    return found


def _container_check_digits(declaration: Declaration) -> list[Match]:
    wrong = {
        f"equipment[{i}].container_id": unit.container_id
        for i, unit in enumerate(declaration.equipment)
        if not iso6346.is_valid(unit.container_id)
    }
    if not wrong:
        return []
    return [
        Match(
            "BUILTIN-CONTAINER-CHECK-DIGIT",
            1,
            "SCORE",
            20.0,
            f"container number fails the ISO 6346 check: {', '.join(wrong.values())}",
            wrong,
        )
    ]


def _gross_mass_totals(declaration: Declaration) -> list[Match]:
    total = declaration.totals.gross_mass_kg if declaration.totals else None
    masses = [item.gross_mass_kg for item in declaration.goods or []]
    if total is None or not masses or any(m is None for m in masses):
        return []
    items_sum = sum(m for m in masses if m is not None)
    if total == 0 or abs(items_sum - total) / total <= _TOTALS_TOLERANCE:
        return []
    return [
        Match(
            "BUILTIN-TOTALS-MASS",
            1,
            "SCORE",
            15.0,
            f"items weigh {items_sum:g} kg but the total says {total:g} kg (over 10 % apart)",
            {"totals.gross_mass_kg": total, "sum(goods[*].gross_mass_kg)": items_sum},
        )
    ]


def _parties_unchecked(declaration: Declaration) -> list[PartyStatus]:
    """Party roles with their claimed AEO id; no registry is consulted by the built-in set."""
    roles = {
        "declarant": declaration.declarant,
        "consignor": declaration.consignor,
        "consignee": declaration.consignee,
        "carrier": declaration.transport.carrier if declaration.transport else None,
        "notify_party": declaration.notify_party,
    }
    statuses: list[PartyStatus] = []
    for role, party in roles.items():
        if party is None:
            continue
        claimed = next((i.value for i in party.ids if i.scheme == "AEO"), None)
        statuses.append(PartyStatus(role, claimed, None, "NOT_CHECKED", None))  # type: ignore[arg-type]
    return statuses
