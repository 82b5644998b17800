"""Reference data bundled with the sample generator.

The CSV files are cut from public data sets (see ``data/LICENSES.md``); ``vocabulary.json`` holds
the word lists, carriers and trade patterns written for the generator. Everything is read once
per process and returned as immutable values.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import msgspec

_DATA = files("pipeline.samples").joinpath("data")


@dataclass(frozen=True, slots=True)
class Subheading:
    """An HS 2022 six-digit subheading."""

    code: str
    description: str

    @property
    def chapter(self) -> str:
        return self.code[:2]

    @property
    def heading(self) -> str:
        return self.code[:4]


@dataclass(frozen=True, slots=True)
class Location:
    """A UN/LOCODE location; ``function`` is the eight-character UN/LOCODE function field."""

    code: str
    name: str
    country: str
    function: str

    @property
    def seaport(self) -> bool:
        return self.function[0] == "1"

    @property
    def rail(self) -> bool:
        return self.function[1] == "2"

    @property
    def road(self) -> bool:
        return self.function[2] == "3"

    @property
    def airport(self) -> bool:
        return self.function[3] == "4"


@dataclass(frozen=True, slots=True)
class Country:
    """An ISO 3166 country with its UN M49 sub-region, currency and dialling code."""

    code: str
    name: str
    subregion: str
    currency: str
    dial: str
    tld: str
    capital: str


# --- vocabulary.json ------------------------------------------------------------------------


class SeaCarrier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    country: str
    scac: str
    owner_codes: tuple[str, ...]
    weight: float


class AirCarrier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    country: str
    iata: str
    awb_prefix: str
    hub: str
    weight: float


class Industry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A line of business: the words in company names and the goods such companies ship."""

    words: tuple[str, ...]
    chapters: dict[str, float]
    package_types: tuple[str, ...]
    usd_per_kg: tuple[float, float]
    weight: float


class PackageType(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Typical size of one package: kilograms each and how many make up one goods item by sea."""

    kg: tuple[float, float]
    count: tuple[int, int]


class Vocabulary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    export_countries: dict[str, dict[str, float]]
    import_countries: dict[str, dict[str, float]]
    high_risk_countries: tuple[str, ...]
    transhipment_countries: tuple[str, ...]
    sea_transit_days: dict[str, tuple[float, float]]
    sea_carriers: tuple[SeaCarrier, ...]
    air_carriers: tuple[AirCarrier, ...]
    lessor_owner_codes: tuple[str, ...]
    industries: tuple[Industry, ...]
    package_types: dict[str, PackageType]
    name_style: dict[str, str]
    name_words: dict[str, tuple[str, ...]]
    legal_forms: dict[str, tuple[str, ...]]
    street_formats: dict[str, tuple[str, ...]]
    street_words: dict[str, tuple[str, ...]]
    postcode_formats: dict[str, str]
    forwarder_words: tuple[str, ...]
    usd_rates: dict[str, float]
    vague_descriptions: tuple[str, ...]
    stopword_party_names: tuple[str, ...]
    legacy_encoded_names: tuple[str, ...]


# --- loaders --------------------------------------------------------------------------------


def _rows(name: str) -> list[dict[str, str]]:
    text = _DATA.joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def subheadings() -> tuple[Subheading, ...]:
    """HS 2022 subheadings, in code order."""
    return tuple(
        Subheading(row["hscode"], row["description"]) for row in _rows("hs_subheadings.csv")
    )


@cache
def locations() -> tuple[Location, ...]:
    """Seaports, airports and inland terminals, in code order."""
    return tuple(
        Location(row["code"], row["name"], row["country"], row["function"])
        for row in _rows("locodes.csv")
    )


@cache
def countries() -> dict[str, Country]:
    """The countries of the bundled locations, by ISO 3166 alpha-2 code."""
    return {
        row["code"]: Country(
            row["code"],
            row["name"],
            row["subregion"],
            row["currency"],
            row["dial"],
            row["tld"],
            row["capital"],
        )
        for row in _rows("countries.csv")
    }


@cache
def vocabulary() -> Vocabulary:
    """Word lists, carriers and trade patterns for synthetic declarations."""
    raw = _DATA.joinpath("vocabulary.json").read_bytes()
    return msgspec.json.decode(raw, type=Vocabulary)
