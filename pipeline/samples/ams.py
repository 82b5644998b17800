"""Real US vessel manifests (AMS) as contract declarations, for tests and backtests.

CBP's Automated Manifest System data come as tables keyed by the bill's ``identifier``:
``header`` (vessel, ports, dates, totals), ``billgen`` (bill numbers), ``cargodesc`` (one row
per description), ``tariff`` (HS numbers), ``hazmat`` (UN numbers), ``shipper``, ``consignee``,
``notifyparty`` and ``container``. Each bill becomes one Declaration (a FILING, version 1) and
the notes on what could not be carried over.

The tables are read as they are: ``NaN`` is no value, names are cut at 35 characters, HS
numbers are stored as decimals (``940360.0``) or lost their leading zero, ports are US Schedule
D/K names rather than UN/LOCODEs. Nothing is invented: a value that cannot be mapped is left
out and a note says so. A malformed row is reported with its file, line and reason. The
tables are read whole: this is for samples and extracts, not for a full year's release.

``python -m pipeline.samples.ams FOLDER`` prints the declarations as JSON lines (for
``screening rules backtest``) and the notes and problems on standard error.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pycountry

from pipeline.contract.models import Declaration
from pipeline.errors import InputFileError
from pipeline.samples.reference import Location, locations
from pipeline.screening.decode import DecodeFailure, decode_declaration


def _party_columns(prefix: str) -> tuple[str, ...]:
    lines = tuple(f"{prefix}_address_{i}" for i in range(1, 5))
    return ("identifier", f"{prefix}_name", *lines, "city", "zip_code", "country_code", *_COMM)


_COMM = ("comm_number_qualifier", "comm_number")
# The columns each table must have; others are ignored.
COLUMNS: dict[str, tuple[str, ...]] = {
    "header": (
        "identifier",
        "carrier_code",
        "vessel_country_code",
        "vessel_name",
        "port_of_unlading",
        "estimated_arrival_date",
        "foreign_port_of_lading",
        "manifest_quantity",
        "manifest_unit",
        "weight",
        "weight_unit",
        "record_status_indicator",
        "place_of_receipt",
        "conveyance_id_qualifier",
        "conveyance_id",
        "mode_of_transportation",
    ),
    "billgen": (
        "identifier",
        "master_bol_number",
        "house_bol_number",
        "voyage_number",
        "bill_type_code",
        "trade_update_date",
        "run_date",
    ),
    "cargodesc": (
        "identifier",
        "container_number",
        "description_sequence_number",
        "piece_count",
        "description_text",
    ),
    "tariff": (
        "identifier",
        "container_number",
        "description_sequence_number",
        "harmonized_number",
        "harmonized_weight",
        "harmonized_weight_unit",
    ),
    "hazmat": ("identifier", "container_number", "hazmat_code"),
    "container": ("identifier", "container_number", "seal_number_1", "seal_number_2"),
    "shipper": _party_columns("shipper_party"),
    "consignee": _party_columns("consignee"),
    "notifyparty": _party_columns("notify_party"),
}
# Without these a bill has no vessel, ports or bill number to screen.
REQUIRED_TABLES = ("header", "billgen")
_NO_VALUE = frozenset({"", "nan", "none", "null"})
_MAX_BYTES = 1 << 20
_AMS_TEXT_LENGTH = 35  # AMS cuts names and address lines at this length
_KG_PER_UNIT = {
    "kilograms": 1.0,
    "kg": 1.0,
    "pounds": 0.45359237,
    "lb": 0.45359237,
    "metric ton": 1000.0,
    "metric tons": 1000.0,
}
_BILL_TYPES = {"house bill": "HBL", "regular bill": "MBL", "master bill": "MBL"}
_NOT_CONTAINERISED = frozenset({"NC", "N/C"})
# How the HTS writes its numbers: 8471.30, 8471.30.01, 0101.21.00.10, 8471.30.0100.
_HTS_DOTTED = re.compile(r"\d{4}\.\d{2}(\.\d{2}){0,2}|\d{4}\.\d{2}\.\d{4}")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that could not be used, or a bill that could not become a declaration."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class AmsConversion:
    """One bill as a contract Declaration (JSON-ready), with what could not be carried over."""

    bill: str
    declaration: dict[str, Any]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AmsResult:
    conversions: list[AmsConversion]
    problems: list[RowProblem]


@dataclass(frozen=True, slots=True)
class _Row:
    file: str
    line: int
    values: dict[str, str | None]

    def __getitem__(self, column: str) -> str | None:
        return self.values.get(column)


_Tables = dict[str, dict[str, list[_Row]]]  # table -> bill identifier -> rows, in file order


# --- reading ----------------------------------------------------------------------------------


def table_file(folder: Path, table: str) -> Path | None:
    """The CSV file of ``table`` (``ams2020_header_sample.csv``, ``header.csv``, ...)."""
    pattern = re.compile(rf"(^|_){table}(_|\.)", re.IGNORECASE)
    found = sorted(p for p in folder.glob("*.csv") if pattern.search(p.name))
    return found[0] if found else None


def _read(path: Path, table: str, problems: list[RowProblem]) -> dict[str, list[_Row]]:
    rows: dict[str, list[_Row]] = defaultdict(list)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(RowProblem(path.name, 0, f"cannot be read: {exc}"))
        return rows
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        missing = [c for c in COLUMNS[table] if header is None or c not in header]
        if header is None or missing:
            problems.append(RowProblem(path.name, 1, f"no column {', '.join(missing)}: not read"))
            return rows
        line = reader.line_num
        for fields in reader:
            start, line = line + 1, reader.line_num
            if any(f.strip() for f in fields):
                _add(rows, header, fields, path.name, start, problems)
    except csv.Error as exc:
        problems.append(RowProblem(path.name, reader.line_num, f"not CSV: {exc}; rest not read"))
    return rows


def _add(
    rows: dict[str, list[_Row]],
    header: list[str],
    fields: list[str],
    file: str,
    line: int,
    problems: list[RowProblem],
) -> None:
    if len(fields) != len(header):
        reason = f"{len(fields)} fields where the header has {len(header)}: row skipped"
        problems.append(RowProblem(file, line, reason))
        return
    values = {name: _value(v) for name, v in zip(header, fields, strict=True)}
    bill = values["identifier"]
    if bill is None or not bill.isdigit():
        problems.append(RowProblem(file, line, f"identifier {bill!r} is not a bill number"))
        return
    rows[bill].append(_Row(file, line, values))


def _value(text: str) -> str | None:
    text = text.strip()
    return None if text.lower() in _NO_VALUE else text


# --- values -----------------------------------------------------------------------------------


def repair_hs_code(text: str) -> tuple[str | None, str]:
    """An HS code as the contract wants it (6-10 digits, leading zeros kept) and a note.

    ``940360.0`` (a number read as a decimal) gives ``940360``; ``0101.21.00.10`` (a dotted
    HTS number) gives ``0101210010``; an odd number of digits means the leading zero was lost
    in a numeric column (``30617`` gives ``030617``): AMS tariff numbers are HS (6 digits) or
    HTS (10 digits) codes, of even length. Anything else is left out.
    """
    raw = text.strip()
    # Zeros after one point are a decimal's (8451.00 is 8451, not 845100): nothing is added.
    if re.fullmatch(r"\d+(\.0+)?", raw):
        digits = raw.split(".")[0]
    elif _HTS_DOTTED.fullmatch(raw):
        digits = raw.replace(".", "")
        return digits, f"HS code {raw!r} read as {digits}"
    else:
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return None, f"HS code {raw!r} is not a number: left out"
        if not number.is_finite() or number < 0 or number != number.to_integral_value():
            return None, f"HS code {raw!r} is not a whole number: left out"
        digits = str(int(number))
    note = "" if digits == raw else f"HS code {raw!r} read as {digits}"
    if len(digits) in (5, 7, 9):
        digits = "0" + digits
        note = f"HS code {raw!r} read as {digits} (leading zero restored)"
    if not 6 <= len(digits) <= 10:
        return None, f"HS code {raw!r} has {len(digits)} digits, not 6 to 10: left out"
    return digits, note


def country_code(text: str | None, *, codes: bool = True) -> str | None:
    """ISO 3166-1 alpha-2 for a code or a country name (``China (Taiwan)`` is TW).

    ``codes=False`` takes names only, so that a word such as ``PT`` (port) is not Portugal.
    """
    if not text:
        return None
    text = text.strip()
    if len(text) == 2:
        found = pycountry.countries.get(alpha_2=text.upper()) if codes else None
        return found.alpha_2 if found else None
    # US Schedule K writes the country and a qualifier: "China (Mainland)", "China (Taiwan)".
    qualified = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
    candidates = [qualified.group(2), qualified.group(1)] if qualified else [text]
    for candidate in candidates:
        if len(candidate) <= 3:
            continue
        try:
            return str(pycountry.countries.lookup(candidate).alpha_2)
        except LookupError:
            continue
    return None


@cache
def _locations_by_name() -> dict[str, tuple[Location, ...]]:
    by_name: dict[str, list[Location]] = defaultdict(list)
    for location in locations():
        by_name[location.name.upper()].append(location)
    return {name: tuple(found) for name, found in by_name.items()}


def locode(name: str, country: str | None) -> str | None:
    """The UN/LOCODE of a place named ``name``, if the shipped table has exactly one (a
    seaport is preferred to an airport of the same name)."""
    found = [
        loc
        for loc in _locations_by_name().get(name.strip().upper(), ())
        if country is None or loc.country == country
    ]
    if len(found) > 1:
        found = [loc for loc in found if loc.seaport]
    return found[0].code if len(found) == 1 else None


def _split_place(text: str) -> tuple[str, str | None]:
    """A place and its country: "Shanghai ,China (Mainland)", "Oakland, California",
    "SHANGHAI CHINA", "ANTWERP, BE", "MANILA"."""
    if "," in text:
        place, rest = (part.strip() for part in text.split(",", 1))
        tail = rest.rsplit(",", 1)[-1].strip()
        return place, country_code(tail)
    words = text.split()
    for size in (3, 2, 1):
        if len(words) > size:
            found = country_code(" ".join(words[-size:]), codes=False)
            if found:
                return " ".join(words[:-size]), found
    return text, None


def _timestamp(text: str | None) -> str | None:
    if text is None:
        return None
    for layout in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y%m%d", "%m/%d/%Y"):
        try:
            parsed = datetime.strptime(text, layout)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    return None


def _whole(text: str | None) -> int | None:
    try:
        number = Decimal(text) if text is not None else None
    except InvalidOperation:
        return None
    if number is None or not number.is_finite() or number < 0:
        return None
    return int(number) if number == number.to_integral_value() else None


def _kilograms(weight: str | None, unit: str | None) -> float | None:
    factor = _KG_PER_UNIT.get((unit or "").lower())
    try:
        number = float(weight) if weight is not None and factor else None
    except ValueError:
        return None
    return round(number * factor, 3) if number is not None and factor and number >= 0 else None


# --- one bill ---------------------------------------------------------------------------------


@dataclass
class _Bill:
    identifier: str
    tables: _Tables
    notes: list[str] = field(default_factory=list)

    def rows(self, table: str) -> list[_Row]:
        return self.tables.get(table, {}).get(self.identifier, [])

    def note(self, row: _Row | None, text: str) -> None:
        self.notes.append(f"{row.file}:{row.line}: {text}" if row else text)

    def declaration(self) -> dict[str, Any] | str:
        """The declaration, or why there is none."""
        [bill, *_] = self.rows("billgen")
        header = next(iter(self.rows("header")), None)
        shipper = next(iter(self.rows("shipper")), None)
        consignee = next(iter(self.rows("consignee")), None)
        if header is None or shipper is None or consignee is None:
            parts = {"header": header, "shipper": shipper, "consignee": consignee}
            lacking = " or ".join(name for name, row in parts.items() if row is None)
            return f"bill {self.identifier} has no {lacking} row: not converted"
        filer = header["carrier_code"]
        if filer is None:
            return f"bill {self.identifier} names no filer (carrier code): not converted"
        submitted = _timestamp(bill["trade_update_date"])
        if submitted is None:
            submitted = _timestamp(bill["run_date"])
            told = bill["trade_update_date"]
            self.note(bill, f"trade update date {told!r} not read: the run date stands instead")
        if submitted is None:
            return f"bill {self.identifier} has no date it was filed: not converted"
        if header["record_status_indicator"] == "Amended":
            self.note(
                header,
                "amended in AMS; earlier versions are unknown: sent as version 1, submitted on"
                " the date of its last update (so it may look filed late)",
            )
        self.note(None, f"declarant: AMS names the filer by its SCAC code {filer} only")
        declarant = {"name": filer, "ids": [{"scheme": "OTHER", "value": filer}]}
        notify = self.rows("notifyparty")
        if len(notify) > 1:
            others = "; ".join(r["notify_party_name"] or "(no name)" for r in notify[1:])
            self.note(notify[1], f"the contract holds one notify party: left out {others}")
        equipment = self.equipment()
        mass = self.mass(header, header["weight"], header["weight_unit"])
        self.note(None, "AMS dates carry no time of day: written as midnight UTC")
        return {
            "declaration_id": f"AMS-{self.identifier}",
            "version": 1,
            "message_type": "FILING",
            "submitted_at": submitted,
            "filer_id": filer,
            "declarant": declarant,
            "transport": self.transport(bill, header, declarant),
            "transport_document": self.document(bill),
            "place_of_receipt": self.place(header, "place_of_receipt", None),
            "consignor": self.party(shipper, "shipper_party_name", "consignor"),
            "consignee": self.party(consignee, "consignee_name", "consignee"),
            "notify_party": self.party(notify[0], "notify_party_name", "notify party")
            if notify
            else None,
            "equipment": equipment,
            "goods": self.goods(header, mass, [e["container_id"] for e in equipment]),
            "totals": {"packages": _whole(header["manifest_quantity"]), "gross_mass_kg": mass},
        }

    def transport(self, bill: _Row, header: _Row, declarant: dict[str, Any]) -> dict[str, Any]:
        mode = header["mode_of_transportation"]
        if mode is not None and not mode.lower().startswith("vessel"):
            self.note(header, f"mode of transportation {mode!r} is not by sea: left out")
        if header["estimated_arrival_date"] and not _timestamp(header["estimated_arrival_date"]):
            self.note(header, f"arrival date {header['estimated_arrival_date']!r} not read")
        house = bill["bill_type_code"] == "House Bill"
        if house:
            self.note(bill, "house bill: the filer is not the vessel operator; no carrier given")
        imo = (
            header["conveyance_id"] if "IMO" in (header["conveyance_id_qualifier"] or "") else None
        )
        flag = country_code(header["vessel_country_code"])
        if header["vessel_country_code"] and flag is None:
            self.note(header, f"vessel country {header['vessel_country_code']!r} is not ISO 3166")
        self.note(header, "AMS gives no loading time and no countries of routing")
        vessel = {"name": header["vessel_name"], "imo": imo, "flag": flag}
        return {
            "mode": "SEA" if mode and mode.lower().startswith("vessel") else None,
            "carrier": None if house else declarant,
            "conveyance_ref": bill["voyage_number"],
            "loading_location": self.place(header, "foreign_port_of_lading", None),
            "discharge_location": self.place(header, "port_of_unlading", "US"),
            "estimated_arrival_at": _timestamp(header["estimated_arrival_date"]),
            "vessel": vessel if any(vessel.values()) else None,
        }

    def document(self, bill: _Row) -> dict[str, Any]:
        kind = _BILL_TYPES.get((bill["bill_type_code"] or "").lower())
        if kind is None:
            self.note(bill, f"bill type {bill['bill_type_code']!r} unknown: type left out")
        if kind == "HBL":
            return {
                "type": kind,
                "number": bill["house_bol_number"],
                "master_number": bill["master_bol_number"],
            }
        return {"type": kind, "number": bill["master_bol_number"] or bill["house_bol_number"]}

    def place(self, row: _Row, column: str, default_country: str | None) -> str | None:
        text = row[column]
        if text is None:
            return None
        name, country = _split_place(text)
        # A US port is written "Savannah, Georgia": the state is no country, except the
        # territories that UN/LOCODE lists as countries ("San Juan, Puerto Rico").
        code = locode(name, default_country) if default_country else None
        code = code or locode(name, country)
        if code is None:
            self.note(row, f"{column} {text!r}: no single UN/LOCODE for it: left out")
        return code

    def party(self, row: _Row, name_column: str, role: str) -> dict[str, Any]:
        prefix = name_column.removesuffix("_name")
        name = row[name_column]
        if name is None:
            self.note(row, f"{role} has no name")
        elif len(name) == _AMS_TEXT_LENGTH:
            self.note(row, f"{role} name {name!r} is 35 characters, the AMS limit: maybe cut")
        lines = [line for i in range(1, 5) if (line := row[f"{prefix}_address_{i}"])]
        country = country_code(row["country_code"]) or country_code(
            lines[-1] if lines else None, codes=False
        )
        if country is None:
            self.note(row, f"{role} country not given or not read ({row['country_code']!r})")
        qualifier = (row["comm_number_qualifier"] or "").lower()
        contact = {
            "phone": row["comm_number"] if "telephone" in qualifier else None,
            "email": row["comm_number"] if "mail" in qualifier else None,
        }
        return {
            "name": name,
            "address": {
                "street": " ".join(lines) or None,
                "city": row["city"],
                "postcode": row["zip_code"],
                "country": country,
            },
            "contact": contact,
        }

    def equipment(self) -> list[dict[str, Any]]:
        equipment = []
        for row in self.rows("container"):
            number = row["container_number"]
            if number is None or number.upper() in _NOT_CONTAINERISED:
                self.note(row, f"container number {number!r}: not a container, left out")
                continue
            seals = [s for s in (row["seal_number_1"], row["seal_number_2"]) if s]
            equipment.append({"container_id": number, "seals": seals})
        return equipment

    def goods(
        self, header: _Row, mass: float | None, containers: list[str]
    ) -> list[dict[str, Any]]:
        descriptions = self.rows("cargodesc")
        if not descriptions:
            self.note(header, "no cargo description: one goods item holds the manifest quantity")
            return [
                {
                    "seq": 1,
                    "packages": _whole(header["manifest_quantity"]),
                    "package_type": header["manifest_unit"],
                    "gross_mass_kg": mass,
                    "container_ids": containers,
                }
            ]
        return [self.item(seq, row) for seq, row in enumerate(descriptions, start=1)]

    def item(self, seq: int, row: _Row) -> dict[str, Any]:
        container = row["container_number"]
        packages = _whole(row["piece_count"])
        if packages is None:
            count = row["piece_count"]
            told = "not given" if count is None else f"{count!r} is not a whole number"
            self.note(row, f"goods item {seq}: piece count {told}")
        if row["description_text"] is None:
            self.note(row, f"goods item {seq}: no description")
        tariff = [
            t
            for t in self.rows("tariff")
            if t["description_sequence_number"] == row["description_sequence_number"]
            and t["container_number"] in (container, None)
        ]
        hs_code, mass = None, None
        if not tariff:
            self.note(row, f"goods item {seq}: no tariff row, so no HS code")
        for extra in tariff[1:]:
            self.note(extra, f"goods item {seq}: the contract holds one HS code: row left out")
        if tariff:
            number = tariff[0]["harmonized_number"]
            hs_code, note = repair_hs_code(number) if number else (None, "no HS number")
            if note:
                self.note(tariff[0], f"goods item {seq}: {note}")
            weight = tariff[0]["harmonized_weight"]
            mass = self.mass(tariff[0], weight, tariff[0]["harmonized_weight_unit"])
        return {
            "seq": seq,
            "hs_code": hs_code,
            "description": row["description_text"],
            "packages": packages,
            "gross_mass_kg": mass,
            "un_number": self.un_number(container, seq),
            "container_ids": [container] if container else [],
        }

    def un_number(self, container: str | None, seq: int) -> str | None:
        rows = [h for h in self.rows("hazmat") if h["container_number"] == container]
        if not rows:
            return None
        found = re.fullmatch(r"(?:UN)?\s*(\d{4})", rows[0]["hazmat_code"] or "")
        in_container = [r for r in self.rows("cargodesc") if r["container_number"] == container]
        if found and len(in_container) == 1 and len(rows) == 1:
            return "UN" + found.group(1)
        code = rows[0]["hazmat_code"]
        self.note(rows[0], f"goods item {seq}: hazmat code {code!r} not tied to one item: left out")
        return None

    def mass(self, row: _Row, weight: str | None, unit: str | None) -> float | None:
        kilograms = _kilograms(weight, unit)
        if weight is not None and kilograms is None:
            self.note(row, f"weight {weight!r} {unit or ''} not read as kilograms: left out")
        return kilograms


# --- the folder -------------------------------------------------------------------------------


def convert_ams(folder: Path) -> AmsResult:
    """Every bill of the ``billgen`` table as a declaration; rows and bills that could not be
    used are in ``problems``. Rows of bills that are not in ``billgen`` are not used."""
    if not folder.is_dir():
        raise InputFileError(f"{folder}: not a folder")
    problems: list[RowProblem] = []
    tables: _Tables = {}
    for table in COLUMNS:
        path = table_file(folder, table)
        if path is None and table in REQUIRED_TABLES:
            raise InputFileError(f"{folder}: no {table} table (a CSV file named *_{table}_*)")
        tables[table] = _read(path, table, problems) if path else {}
    conversions: list[AmsConversion] = []
    for identifier, rows in tables["billgen"].items():
        bill = _Bill(identifier, tables)
        outcome = bill.declaration()
        if isinstance(outcome, str):
            problems.append(RowProblem(rows[0].file, rows[0].line, outcome))
            continue
        declaration = _compact(outcome)
        checked = decode_declaration(orjson.dumps(declaration), _MAX_BYTES)
        if isinstance(checked, DecodeFailure):
            reason = f"bill {identifier} breaks the contract at {checked.path}: {checked.message}"
            problems.append(RowProblem(rows[0].file, rows[0].line, reason))
            continue
        assert isinstance(checked, Declaration)
        conversions.append(AmsConversion(identifier, declaration, tuple(bill.notes)))
    return AmsResult(conversions, problems)


def declarations_from_ams(folder: Path) -> list[AmsConversion]:
    """The bills of an AMS folder as declarations with their notes (see ``convert_ams``)."""
    return convert_ams(folder).conversions


def _compact(value: Any) -> Any:
    """Drop what has no value: missing data stays missing."""
    if isinstance(value, dict):
        kept = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != {} and v != ""}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.samples.ams",
        description="Print the bills of an AMS folder as declarations, one JSON line each.",
    )
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    try:
        result = convert_ams(args.folder)
    except InputFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for conversion in result.conversions:
        sys.stdout.write(orjson.dumps(conversion.declaration).decode() + "\n")
        for note in conversion.notes:
            print(f"{conversion.declaration['declaration_id']}: {note}", file=sys.stderr)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    return 0 if result.conversions else 1


if __name__ == "__main__":
    sys.exit(main())
