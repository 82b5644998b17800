"""Generate ``aeo.csv``: synthetic AEO records that look like real registry extracts.

Usage: ``python deploy/sample-data/derive_aeo.py [SEED]``. Seeded and independent of the date,
so the same seed gives the same file. No record describes a real operator.

EU member states' operators carry AEO numbers (country, type, ten digits: DEAEOF0000123456) or,
where an administration keys them so, their EORI. Most are active; some are suspended,
revoked, or past their validity. Partner programmes under the EU's mutual recognition
agreements appear with ``mra_partner`` set: US C-TPAT (keyed by a manufacturer-id-like code),
Japan, China, the United Kingdom, Switzerland and Norway, plus Canada's PIP, which the EU does
not recognise, so that the partner set can be exercised.
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

from pipeline.reference.csv_load import AEO_HEADER as HEADER

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = 20260101
EU_COUNT = 260
PARTNER_COUNT = 70

# Name parts and legal forms by country; EORI lengths after the country prefix.
EU: dict[str, tuple[list[str], list[str], int]] = {
    "DE": (
        ["Müller", "Schäfer", "Becker", "Hoffmann", "Krüger", "Weiß", "Hansa", "Elbe", "Rhein"],
        ["{} GmbH", "{} AG", "{} GmbH & Co. KG"],
        15,
    ),
    "NL": (
        ["Van Dijk", "De Vries", "Jansen", "Maas", "Oranje", "Schelde", "Bakker"],
        ["{} B.V.", "{} N.V."],
        9,
    ),
    "BE": (["Peeters", "Janssens", "Schelde", "Brabant", "Antwerpia"], ["{} NV", "{} BV"], 10),
    "FR": (
        ["Société Générale d'Importation", "Lefèvre", "Durand", "Rhône", "Garonne", "Moreau"],
        ["{} SAS", "{} S.A.", "{} SARL"],
        14,
    ),
    "IT": (
        ["Rossi", "Bianchi", "Ligure", "Padana", "Esposito", "Colombo"],
        ["{} S.p.A.", "{} S.r.l."],
        11,
    ),
    "ES": (
        ["García Núñez", "Martínez", "Ibérica", "Levante", "Fernández"],
        ["{} S.L.", "{} S.A."],
        9,
    ),
    "PL": (
        ["Nowak", "Kowalski", "Wiśniewski", "Bałtyk", "Wisła"],
        ["{} Sp. z o.o.", "{} S.A."],
        10,
    ),
    "AT": (["Gruber", "Huber", "Donau", "Alpen"], ["{} GmbH", "{} AG"], 9),
    "SE": (["Åkesson", "Lindqvist", "Norrland", "Svea"], ["{} AB"], 10),
    "DK": (["Nielsen", "Jensen", "Øresund", "Jylland"], ["{} A/S", "{} ApS"], 8),
    "IE": (["O'Brien", "Murphy", "Shannon", "Liffey"], ["{} Ltd", "{} DAC"], 9),
    "CZ": (["Novák", "Dvořák", "Vltava", "Morava"], ["{} s.r.o.", "{} a.s."], 8),
    "HU": (["Nagy", "Kovács", "Duna", "Tisza"], ["{} Kft.", "{} Zrt."], 8),
    "PT": (["Silva", "Ferreira", "Tejo", "Douro"], ["{} Lda.", "{} S.A."], 9),
}
TRADES_EN = [
    "Logistics",
    "Freight",
    "Trading",
    "Import Export",
    "Machinery",
    "Foods",
    "Pharma",
    "Automotive Parts",
    "Textiles",
    "Steel",
    "Packaging",
]
TRADES = [*TRADES_EN, "Logistik", "Spedition", "Chemie", "Elektronik"]
# (country, aeo types, number format). CTPAT ids are built from the name.
PARTNERS: list[tuple[str, str, str]] = [
    ("US", "CTPAT", "mid"),
    ("JP", "AEOS AEOF AEOF", "{cc}{type}{d7}"),
    ("CN", "AEOS AEOF", "AEOCN{d10}"),
    ("GB", "AEOS AEOF AEOF AEOC", "GB{type}{d10}"),
    ("CH", "AEOS AEOF", "CH{type}{d10}"),
    ("NO", "AEOF AEOC", "NO{type}{d10}"),
    ("CA", "PIP", "CA{d9}PIP"),
]
PARTNER_NAMES = {
    "US": (["Lincoln", "Great Lakes", "Pacific", "Lone Star", "Hudson"], ["{} Inc.", "{} LLC"]),
    "JP": (["Yamato", "Sakura", "Fuji", "Hokuto"], ["{} Co., Ltd.", "{} K.K."]),
    "CN": (["Ningbo Huaxin", "Shenzhen Jinlong", "Qingdao Haitian"], ["{} Co., Ltd."]),
    "GB": (["Thames", "Mersey", "Pennine", "Clyde"], ["{} Ltd", "{} PLC"]),
    "CH": (["Rhein", "Jura", "Helvetia"], ["{} AG", "{} SA"]),
    "NO": (["Ødegård", "Fjord", "Nordkapp"], ["{} AS"]),
    "CA": (["Maple", "Laurentian", "Prairie"], ["{} Inc.", "{} Ltd."]),
}


def digits(rng: random.Random, count: int) -> str:
    return f"{rng.randrange(10**count):0{count}d}"


def validity(rng: random.Random) -> tuple[str, str, str]:
    """Status and validity window: mostly active and open-ended."""
    start = date(2009, 1, 1) + timedelta(days=rng.randrange(16 * 365))
    roll = rng.random()
    if roll < 0.06:
        return "SUSPENDED", start.isoformat(), ""
    if roll < 0.10:
        return "REVOKED", start.isoformat(), ""
    if roll < 0.15:  # lapsed: ended before 2026
        end = min(start + timedelta(days=rng.randint(365, 3650)), date(2025, 6, 30))
        return "ACTIVE", start.isoformat(), end.isoformat()
    if roll < 0.17:  # not valid yet
        return "ACTIVE", date(2027, 1, 1).isoformat(), ""
    return "ACTIVE", start.isoformat(), ""


def name(
    rng: random.Random, parts: list[str], forms: list[str], used: set[str], trades: list[str]
) -> str:
    while True:
        candidate = rng.choice(forms).format(f"{rng.choice(parts)} {rng.choice(trades)}")
        if candidate not in used:
            used.add(candidate)
            return candidate


def eu_record(rng: random.Random, used: set[str]) -> tuple[str, ...]:
    cc = rng.choice(sorted(EU))
    parts, forms, eori_digits = EU[cc]
    aeo_type = rng.choice(("AEOF", "AEOF", "AEOC", "AEOS"))
    if rng.random() < 0.15:
        scheme, operator_id = "EORI", f"{cc}{digits(rng, eori_digits)}"
    else:
        scheme, operator_id = "AEO", f"{cc}{aeo_type}{digits(rng, 10)}"
    status, valid_from, valid_to = validity(rng)
    label = name(rng, parts, forms, used, TRADES)
    return (operator_id, scheme, label, cc, aeo_type, status, valid_from, valid_to, "")


def partner_record(rng: random.Random, used: set[str]) -> tuple[str, ...]:
    cc, types, pattern = rng.choice(PARTNERS)
    aeo_type = rng.choice(types.split())
    label = name(rng, *PARTNER_NAMES[cc], used, TRADES_EN)
    if pattern == "mid":
        words = [w for w in label.upper().replace(".", "").split() if w.isalpha()]
        scheme, operator_id = "CTPAT", f"US{words[0][:3]}{words[1][:3]}{digits(rng, 4)}"
    else:
        scheme = "AEO"
        operator_id = pattern.format(
            cc=cc, type=aeo_type, d7=digits(rng, 7), d9=digits(rng, 9), d10=digits(rng, 10)
        )
    status, valid_from, valid_to = validity(rng)
    return (operator_id, scheme, label, cc, aeo_type, status, valid_from, valid_to, cc)


def generate(seed: int) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    used: set[str] = set()
    rows = [eu_record(rng, used) for _ in range(EU_COUNT)]
    rows += [partner_record(rng, used) for _ in range(PARTNER_COUNT)]
    unique = {row[0]: row for row in rows}  # an id drawn twice keeps its last record
    return sorted(unique.values(), key=lambda row: (row[8], row[3], row[0]))


def main(argv: list[str]) -> int:
    seed = int(argv[1]) if len(argv) > 1 else DEFAULT_SEED
    rows = generate(seed)
    with (HERE / "aeo.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    print(f"wrote {len(rows)} records to {HERE / 'aeo.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
