"""Derive ``watchlist.csv`` from the US OFAC SDN list (the copy in moov-io/watchman's test data).

Usage: ``python deploy/sample-data/derive_watchlist.py SANCTIONS_DIR`` where the directory holds
``watchman_sdn.csv``, ``watchman_alt.csv`` and ``watchman_add.csv`` (see LICENSES.md). Run it
with the project's environment (it uses pycountry). The same input gives the same file.

What is kept: every SDN entry that is an entity (not an individual, vessel or aircraft), as
``OFAC-<ent_num>``, with its aliases (a.k.a., f.k.a., n.k.a.), the country of its first address,
and the tax and registration numbers its remarks give; and every vessel whose remarks give its
IMO number ("Vessel Registration Identification IMO 9187629"), with that number as an ``IMO``
id (contract v1.1) and its flag as the country. Programmes of the highest concern for cargo
(weapons of mass destruction, terrorism, the IRGC, North Korea) give DNL; the others HRCM.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

import pycountry

HERE = Path(__file__).resolve().parent
HEADER = ("entry_id", "name", "aliases", "country", "ids", "list", "action", "reason")
EMPTY = "-0-"

DNL_PROGRAMMES = frozenset({"NPWMD", "IRGC", "SDGT", "FTO", "SDT"})
DNL_PREFIXES = ("DPRK",)

# OFAC's country names that pycountry does not know; None where no single code fits.
COUNTRY_NAMES: dict[str, str | None] = {
    "Russia": "RU",
    "Korea, North": "KP",
    "Korea, South": "KR",
    "Burma": "MM",
    "Turkey": "TR",
    "The Gambia": "GM",
    "Bahamas, The": "BS",
    "Congo, Democratic Republic of the": "CD",
    "Congo, Republic of the": "CG",
    "Cote d Ivoire": "CI",
    "Man, Isle of": "IM",
    "Kosovo": "XK",
    "West Bank": "PS",
    "Palestinian": "PS",
    "Region: Gaza": "PS",
    "Region: Crimea": "UA",
    "Region: Northern Mali": "ML",
    "Region: Kafia Kingi": None,
    "Netherlands Antilles": None,
    "undetermined": None,
}

# Identifiers in the remarks: "Tax ID No. 100036386 (Serbia)", "NIT # 800191735-7 (Colombia)".
TAX_LABELS = ("Tax ID No.", "NIT #", "RUC #", "RIF #", "V.A.T. Number")
REGISTRATION_LABELS = (
    "Registration ID",
    "Registration Number",
    "Company Number",
    "Commercial Registry Number",
    "Business Registration Document #",
    "Trade License No.",
)
ID_PATTERN = re.compile(
    "(?P<label>"
    + "|".join(re.escape(label) for label in TAX_LABELS + REGISTRATION_LABELS)
    + r")\s+(?P<value>[A-Z0-9][A-Z0-9./-]*(?: [A-Z0-9][A-Z0-9./-]*)*?)\s*(?=\(|;|,|\.?$)"
)

# A vessel's IMO number in the SDN remarks: "Vessel Registration Identification IMO 9187629".
IMO_PATTERN = re.compile(r"\bIMO (?P<number>[0-9]{7})\b")


def field(value: str) -> str:
    value = value.strip()
    return "" if value == EMPTY else value.replace("|", "/")


def programmes(text: str) -> list[str]:
    return [p.strip() for p in text.strip().strip("[]").split("] [") if p.strip()]


def action(progs: list[str]) -> str:
    severe = any(p in DNL_PROGRAMMES or p.startswith(DNL_PREFIXES) for p in progs)
    return "DNL" if severe else "HRCM"


def country_code(name: str) -> str | None:
    if name in COUNTRY_NAMES:
        return COUNTRY_NAMES[name]
    try:
        return str(pycountry.countries.lookup(name).alpha_2)
    except LookupError:
        return None


def ids_in(remarks: str) -> list[str]:
    found: list[str] = []
    for match in ID_PATTERN.finditer(remarks):
        scheme = "TIN" if match["label"] in TAX_LABELS else "OTHER"
        item = f"{scheme}:{match['value'].rstrip('.')}"
        if item not in found:
            found.append(item)
    return found


def imo_valid(number: str) -> bool:
    """The IMO check digit: the first six digits weighted 7..2, summed, modulo 10."""
    weighted = sum(int(d) * w for d, w in zip(number[:6], range(7, 1, -1), strict=True))
    return weighted % 10 == int(number[6])


def vessel_ids(remarks: str) -> list[str]:
    found: list[str] = []
    for match in IMO_PATTERN.finditer(remarks):
        item = f"IMO:{match['number']}"
        if imo_valid(match["number"]) and item not in found:
            found.append(item)
    return found


def derive(source: Path) -> list[tuple[str, ...]]:
    with (source / "watchman_alt.csv").open(encoding="utf-8", newline="") as handle:
        aliases: dict[str, list[str]] = defaultdict(list)
        for ent_num, _alt_num, _alt_type, alt_name, *_ in csv.reader(handle):
            name = field(alt_name)
            if name and name not in aliases[ent_num.strip()]:
                aliases[ent_num.strip()].append(name)
    with (source / "watchman_add.csv").open(encoding="utf-8", newline="") as handle:
        countries: dict[str, str] = {}
        for ent_num, _add_num, _address, _city, country, *_ in csv.reader(handle):
            code = country_code(field(country)) if field(country) else None
            if code:
                countries.setdefault(ent_num.strip(), code)
    rows: list[tuple[str, ...]] = []
    with (source / "watchman_sdn.csv").open(encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle):
            ent_num, name, sdn_type, program = (field(v) for v in record[:4])
            progs = programmes(program)
            if sdn_type.lower() == "vessel" and name:
                imos = vessel_ids(field(record[11]))
                if imos:
                    flag = country_code(field(record[9])) if field(record[9]) else None
                    rows.append(
                        (
                            f"OFAC-{ent_num}",
                            name,
                            "|".join(a for a in aliases.get(ent_num, []) if a != name),
                            flag or "",
                            "|".join(imos),
                            "OFAC",
                            action(progs),
                            "Vessel on the US OFAC SDN list"
                            f" (programme {', '.join(progs) or 'unspecified'})",
                        )
                    )
                continue
            if sdn_type or not name:  # entities have no SDN type
                continue
            rows.append(
                (
                    f"OFAC-{ent_num}",
                    name,
                    "|".join(a for a in aliases.get(ent_num, []) if a != name),
                    countries.get(ent_num, ""),
                    "|".join(ids_in(field(record[11]))),
                    "OFAC",
                    action(progs),
                    f"On the US OFAC SDN list (programme {', '.join(progs) or 'unspecified'})",
                )
            )
    rows.sort(key=lambda row: int(row[0].removeprefix("OFAC-")))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    rows = derive(Path(argv[1]))
    with (HERE / "watchlist.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    print(f"wrote {len(rows)} entries to {HERE / 'watchlist.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
