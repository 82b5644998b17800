"""How well party names match the watch list: recall per kind of variation, and false matches.

    .venv/bin/python -m load_tests.name_matching [--per-category 200] [--seed 7]
        [--record before|after] [--commit ID] [--results DIR]

A labelled set is built from the OFAC SDN list the repository ships (load_tests/data/sanctions,
January 2019) and loaded into ``Watchlist``, one entry per SDN row with its aliases. Positives
name one listed entity, written as filers write it:

- ``truncated_35``: the listed name cut at 35 characters, as US manifests (AMS) store it;
- ``cyrillic``, ``greek``: the Latin listing written in Cyrillic or Greek letters by a fixed
  letter-for-letter table (``to_script``), as a filer in that script might. The table cannot
  undo English spelling (C is K, W is V), so part of this set is beyond any transliteration;
  the 2019 list has no aliases in other scripts to take real ones from;
- ``misspelt``: one letter substituted, dropped or added;
- ``legal_form``: a legal form in another language added before or after the name;
- ``as_listed``: the listed name unchanged, a control that must stay at 100%.

Negatives should match nothing: common words, short names, generic company names (whole and cut at
35 characters) and the real shippers and consignees of the AMS samples (load_tests/data/ams).
A negative that is itself a listed name or alias is left out of the set.

The set is seeded and deterministic. Writes names.json and names.md to --results; the figures of
a run recorded as ``before`` (the matching before truncation, transliteration and the legal-form
library) are kept and shown beside every later run.
"""

# Names in other scripts are what this is about: their letters look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load_tests.args import OneLineParser, positive_int
from pipeline.contract.models import Party, WatchlistEntry
from pipeline.reference.watchlist import Watchlist

HERE = Path(__file__).parent
SANCTIONS = HERE / "data" / "sanctions"
AMS = HERE / "data" / "ams"
RESULTS = HERE / "results"
AMS_CUT = 35

POSITIVES = ("truncated_35", "cyrillic", "greek", "misspelt", "legal_form", "as_listed")
NEGATIVES = ("common_words", "short_names", "generic_companies", "generic_cut_35", "ams_firms")

# Digraphs first: the longest spelling of a sound is replaced before its letters.
_CYRILLIC = (
    ("SHCH", "Щ"), ("SH", "Ш"), ("CH", "Ч"), ("ZH", "Ж"), ("KH", "Х"), ("TS", "Ц"),
    ("YA", "Я"), ("YU", "Ю"), ("A", "А"), ("B", "Б"), ("C", "К"), ("D", "Д"), ("E", "Е"),
    ("F", "Ф"), ("G", "Г"), ("H", "Х"), ("I", "И"), ("J", "ДЖ"), ("K", "К"), ("L", "Л"),
    ("M", "М"), ("N", "Н"), ("O", "О"), ("P", "П"), ("Q", "К"), ("R", "Р"), ("S", "С"),
    ("T", "Т"), ("U", "У"), ("V", "В"), ("W", "В"), ("X", "КС"), ("Y", "Й"), ("Z", "З"),
)  # fmt: skip
_GREEK = (
    ("TH", "Θ"), ("PS", "Ψ"), ("CH", "Χ"), ("PH", "Φ"), ("KS", "Ξ"), ("A", "Α"), ("B", "Β"),
    ("C", "Κ"), ("D", "Δ"), ("E", "Ε"), ("F", "Φ"), ("G", "Γ"), ("H", "Χ"), ("I", "Ι"),
    ("J", "Ι"), ("K", "Κ"), ("L", "Λ"), ("M", "Μ"), ("N", "Ν"), ("O", "Ο"), ("P", "Π"),
    ("Q", "Κ"), ("R", "Ρ"), ("S", "Σ"), ("T", "Τ"), ("U", "Υ"), ("V", "Β"), ("W", "Β"),
    ("X", "Ξ"), ("Y", "Υ"), ("Z", "Ζ"),
)  # fmt: skip
_SCRIPTS = {"cyrillic": _CYRILLIC, "greek": _GREEK}

# Legal forms as filers write them, many of them spelt out in their language.
_FORM_SUFFIXES = (
    "LTD", "LIMITED", "L.L.C.", "GMBH", "S.A.", "S.A. DE C.V.", "B.V.", "AG", "S.R.L.", "PJSC",
    "AKTIENGESELLSCHAFT", "SOCIEDAD ANONIMA", "LIMITED LIABILITY COMPANY", "JOINT STOCK COMPANY",
    "SP. Z O.O.", "AKTIEBOLAG", "SDN BHD", "PUBLIC JOINT STOCK COMPANY",
)  # fmt: skip
_FORM_PREFIXES = ("OOO", "ZAO", "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU", "AO")

_COMMON_WORDS = (
    "TRADING", "SHIPPING", "INTERNATIONAL", "GLOBAL", "GENERAL", "INDUSTRIES", "BANK",
    "LOGISTICS", "IMPORT EXPORT", "HOLDING", "GROUP", "COMPANY", "ENTERPRISES", "SERVICES",
    "MARINE", "ELECTRONICS", "TEXTILES", "FURNITURE", "CHEMICALS", "MACHINERY",
)  # fmt: skip
_SHORT_NAMES = (
    "AB", "ACE", "SUN", "STAR", "ALFA", "DELTA", "OMEGA", "NOVA", "ORION", "ZENITH", "APEX",
    "KING", "LOTUS", "EAGLE", "TITAN", "A&B", "M.K.", "JJ CO", "AL NOOR", "SAM",
)  # fmt: skip
_GENERIC_COMPANIES = (
    "GLOBAL TRADING LTD", "GENERAL TRADING COMPANY", "INTERNATIONAL SHIPPING LLC",
    "STAR SHIPPING LINES", "OCEAN LOGISTICS CO LTD", "ASIA PACIFIC TRADING PTE LTD",
    "EURO IMPORT EXPORT GMBH", "UNITED INDUSTRIES CORPORATION", "NATIONAL PETROLEUM COMPANY",
    "GULF TRADING EST", "MIDDLE EAST SHIPPING LLC", "ROYAL MARINE SERVICES",
    "GOLDEN STAR TRADING", "NEW WORLD ELECTRONICS CO LTD", "FIRST NATIONAL BANK",
    "SILK ROAD LOGISTICS", "PACIFIC OCEAN FISHERIES LIMITED", "ORIENT EXPRESS CARGO",
    "ATLANTIC CONTAINER LINE", "CENTRAL ASIA TRADING HOUSE",
)  # fmt: skip
_GENERIC_LONG = (
    "INTERNATIONAL TRADING AND SHIPPING SERVICES COMPANY LIMITED",
    "GENERAL INDUSTRIAL EQUIPMENT MANUFACTURING CORPORATION",
    "NATIONAL IMPORT AND EXPORT TRADING COMPANY OF SHANGHAI",
    "GLOBAL LOGISTICS AND FREIGHT FORWARDING SOLUTIONS INC",
    "UNITED ARAB EMIRATES GENERAL TRADING AND CONTRACTING LLC",
    "ASIA PACIFIC ELECTRONIC COMPONENTS DISTRIBUTION PTE LTD",
    "EUROPEAN AUTOMOTIVE PARTS WHOLESALE AND RETAIL GMBH",
    "MIDDLE EAST PETROCHEMICAL PRODUCTS TRADING COMPANY",
    "AMERICAN AGRICULTURAL MACHINERY AND SPARE PARTS CORP",
    "INTERNATIONAL COMMERCIAL BANK OF DEVELOPMENT AND TRADE",
)


@dataclass(frozen=True, slots=True)
class Case:
    category: str
    query: str
    expected: str | None  # the entry a positive names; None for a negative


# --- the list -------------------------------------------------------------------------------


def _field(value: str) -> str:
    value = value.strip()
    return "" if value == "-0-" else value


def read_sdn(folder: Path = SANCTIONS) -> tuple[list[WatchlistEntry], set[str]]:
    """The SDN rows as watch-list entries (aliases from alt.csv), and the ids of entities."""
    aliases: dict[str, list[str]] = {}
    with (folder / "alt.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) >= 4 and _field(row[3]):
                aliases.setdefault(row[0].strip(), []).append(_field(row[3]))
    entries: list[WatchlistEntry] = []
    entities: set[str] = set()
    with (folder / "sdn.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 4 or not _field(row[1]):
                continue
            entry_id = f"SDN-{row[0].strip()}"
            entries.append(
                WatchlistEntry(
                    entry_id=entry_id,
                    name=_field(row[1]),
                    aliases=aliases.get(row[0].strip(), []),
                    list="OFAC",
                    action="DNL",
                    reason=f"OFAC SDN ({_field(row[3])})",
                )
            )
            if not _field(row[2]):  # no type: an entity (individuals, vessels, aircraft say so)
                entities.add(entry_id)
    return entries, entities


def read_ams_names(folder: Path = AMS) -> list[str]:
    names: list[str] = []
    for file, column in (
        ("ams2020_shipper_sample.csv", "shipper_party_name"),
        ("ams2020_consignee_sample.csv", "consignee_name"),
    ):
        with (folder / file).open(newline="", encoding="utf-8") as f:
            names += [row[column] for row in csv.DictReader(f) if row[column] not in ("", "NaN")]
    return sorted(set(names))


# --- the variations -------------------------------------------------------------------------


def to_script(name: str, script: str) -> str:
    """A Latin name written in another script's letters; everything else kept."""
    table = _SCRIPTS[script]
    out: list[str] = []
    i = 0
    upper = name.upper()
    while i < len(upper):
        for latin, letters in table:
            if upper.startswith(latin, i):
                out.append(letters)
                i += len(latin)
                break
        else:
            out.append(upper[i])
            i += 1
    return "".join(out)


def misspell(name: str, rng: random.Random) -> str:
    """One letter, not the first, substituted, dropped or doubled-up with a neighbour."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha() and i > 0]
    i = rng.choice(letters)
    other = rng.choice([c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != name[i].upper()])
    match rng.randrange(3):
        case 0:
            return name[:i] + other + name[i + 1 :]
        case 1:
            return name[:i] + name[i + 1 :]
        case _:
            return name[:i] + other + name[i:]


def with_legal_form(name: str, rng: random.Random) -> str:
    if rng.random() < 0.75:
        return f"{name} {rng.choice(_FORM_SUFFIXES)}"
    return f"{rng.choice(_FORM_PREFIXES)} {name}"


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.upper()).split())


def build_cases(
    entries: Sequence[WatchlistEntry],
    entities: set[str],
    ams_names: Iterable[str] = (),
    *,
    per_category: int = 200,
    seed: int = 7,
) -> list[Case]:
    """The labelled set: up to ``per_category`` positives of each kind, and the negatives."""
    rng = random.Random(seed)
    firms = sorted((e for e in entries if e.entry_id in entities), key=lambda e: e.entry_id)

    def sample(pool: list[WatchlistEntry]) -> list[WatchlistEntry]:
        return rng.sample(pool, min(per_category, len(pool)))

    cases: list[Case] = []
    long_names = [e for e in firms if len(e.name) > AMS_CUT]
    cases += [Case("truncated_35", e.name[:AMS_CUT], e.entry_id) for e in sample(long_names)]
    latin = [e for e in firms if e.name.isascii() and sum(c.isalpha() for c in e.name) >= 4]
    for script in _SCRIPTS:
        cases += [Case(script, to_script(e.name, script), e.entry_id) for e in sample(latin)]
    cases += [Case("misspelt", misspell(e.name, rng), e.entry_id) for e in sample(latin)]
    cases += [Case("legal_form", with_legal_form(e.name, rng), e.entry_id) for e in sample(firms)]
    cases += [Case("as_listed", e.name, e.entry_id) for e in sample(firms)]

    listed = {_plain(n) for e in entries for n in (e.name, *e.aliases)}
    negatives = [
        *(("common_words", n) for n in _COMMON_WORDS),
        *(("short_names", n) for n in _SHORT_NAMES),
        *(("generic_companies", n) for n in _GENERIC_COMPANIES),
        *(("generic_cut_35", n[:AMS_CUT]) for n in _GENERIC_LONG),
        *(("ams_firms", n) for n in ams_names),
    ]
    cases += [Case(cat, name, None) for cat, name in negatives if _plain(name) not in listed]
    return cases


# --- the measure ----------------------------------------------------------------------------


def load(entries: Iterable[WatchlistEntry]) -> Watchlist:
    watchlist = Watchlist()
    for entry in entries:
        watchlist.put(entry)
    return watchlist


def evaluate(watchlist: Watchlist, cases: Sequence[Case]) -> dict[str, Any]:
    """Per category: how many cases, how many found (positives) or falsely matched (negatives)."""
    figures: dict[str, dict[str, Any]] = {}
    # The transliterators start once per process (Chinese some 70 ms): not part of a match.
    watchlist.match(Party(name="Жук Ωμέγα 华为 محمد"))
    started = time.perf_counter()
    for case in cases:
        started_case = time.perf_counter()
        findings = watchlist.match(Party(name=case.query))
        row = figures.setdefault(case.category, {"n": 0, "matched": 0, "how": Counter(), "s": 0.0})
        row["s"] += time.perf_counter() - started_case
        row["n"] += 1
        if case.expected is None:
            if findings:
                row["matched"] += 1
                row["how"][findings[0].how] += 1
            continue
        found = next((f for f in findings if f.entry_id == case.expected), None)
        if found is not None:
            row["matched"] += 1
            row["how"][found.how] += 1
    elapsed = time.perf_counter() - started
    for category, row in figures.items():
        row["rate"] = round(row["matched"] / row["n"], 3) if row["n"] else None
        row["kind"] = "negative" if category in NEGATIVES else "positive"
        row["how"] = dict(sorted(row["how"].items()))
        # Each name is new to the process: its normalisation is not cached yet.
        row["us_per_name"] = round(row.pop("s") / row["n"] * 1e6, 1)
    return {
        "categories": figures,
        "match_us_per_name": round(elapsed / max(len(cases), 1) * 1e6, 1),
    }


def run(per_category: int, seed: int) -> dict[str, Any]:
    entries, entities = read_sdn()
    cases = build_cases(entries, entities, read_ams_names(), per_category=per_category, seed=seed)
    started = time.perf_counter()
    watchlist = load(entries)
    load_s = time.perf_counter() - started
    result = evaluate(watchlist, cases)
    result.update(
        entries=len(entries),
        names=sum(1 + len(e.aliases) for e in entries),
        load_s=round(load_s, 2),
        per_category=per_category,
        seed=seed,
    )
    return result


# --- the report -----------------------------------------------------------------------------


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "pipeline/reference"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} + working tree" if dirty else head


def _rate(run: dict[str, Any] | None, category: str) -> str:
    row = (run or {}).get("categories", {}).get(category)
    if row is None:
        return "-"
    return f"{row['matched']}/{row['n']} ({row['rate']:.0%})"


def render(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    lines = [
        "# Party names against the watch list: recall and false matches",
        "",
        "Written by `python -m load_tests.name_matching` (`make bench-names`): the OFAC SDN list",
        "of January 2019 loaded into `Watchlist`, a seeded labelled set of filed names",
        "(see the module's docstring for how each category is made).",
        "",
    ]
    for label, figures in (("before", before), ("after", after)):
        if figures:
            lines.append(
                f"- {label}: commit {figures['commit']}, {figures['entries']} entries "
                f"({figures['names']} names and aliases) loaded in {figures['load_s']} s, "
                f"{figures['match_us_per_name']} µs per name matched"
            )
    lines += [
        "",
        "| category | kind | before | after | after: found by | after: µs per name |",
        "|---|---|---|---|---|---|",
    ]
    for category in (*POSITIVES, *NEGATIVES):
        kind = "recall" if category in POSITIVES else "false matches"
        row = (after or {}).get("categories", {}).get(category) or {}
        shown = ", ".join(f"{k} {v}" for k, v in row.get("how", {}).items()) or "-"
        lines.append(
            f"| {category} | {kind} | {_rate(before, category)} | "
            f"{_rate(after, category)} | {shown} | {row.get('us_per_name', '-')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m load_tests.name_matching", description=__doc__)
    parser.add_argument("--per-category", type=positive_int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--record", choices=("before", "after"), default="after")
    parser.add_argument("--commit", default=None, help="the commit the figures are of")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    figures = run(args.per_category, args.seed)
    figures["commit"] = args.commit or _git_commit()
    path = args.results / "names.json"
    recorded: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    recorded[args.record] = figures
    args.results.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n")
    report = render(recorded.get("before"), recorded.get("after"))
    (args.results / "names.md").write_text(report)
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
