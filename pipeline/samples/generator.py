"""Synthetic pre-loading declarations for demos, tests and benchmarks.

The stream looks like what filers' gateways send to ``customs.declarations.v1``: filings for
sea, air, road and rail consignments into the EU built from real HS subheadings and
UN/LOCODEs, later amendments and invalidations of some of them, a share of risky filings that
carry the indicators of ``domain.md``, and optionally messages that the pipeline must reject.
Everything is drawn from one ``random.Random`` so that a seed and a fixed clock reproduce a
stream byte for byte.

``risky`` marks a declaration that carries at least one indicator; the indicator names are in
``GeneratedMessage.labels``. Declarations that are not risky carry none of them: their origin
is the loading country, their routing avoids high-risk and transhipment countries, their
containers have a correct check digit and a seal, their totals add up, and so on.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final, Literal

import orjson
from stdnum import iso6346

from pipeline.samples import reference
from pipeline.samples.reference import AirCarrier, Industry, Location, SeaCarrier, Subheading

__all__ = [
    "ARMS_HS",
    "BAD_CONTAINER_CHECK_DIGIT",
    "CONTAINER_WITHOUT_SEAL",
    "COUNTERFEIT_PRONE_HS",
    "EXPLOSIVES_HS",
    "LATE_FILING",
    "MRA_PARTNERS",
    "ORIGIN_MISMATCH",
    "PO_BOX_CONSIGNEE",
    "RISKY_ROUTING",
    "RISK_INDICATORS",
    "STOPWORD_PARTY_NAME",
    "SUSPENDED_AEO",
    "TOTALS_MISMATCH",
    "UNDECLARED_LITHIUM_BATTERY",
    "UNVERIFIED_AEO",
    "VAGUE_DESCRIPTION",
    "ZERO_VALUE",
    "DeclarationGenerator",
    "GeneratedMessage",
    "GeneratorConfig",
    "trade_description",
]

Json = dict[str, Any]
MessageKind = Literal["FILING", "AMENDMENT", "INVALIDATION", "MALFORMED"]
Mode = Literal["SEA", "AIR", "ROAD", "RAIL"]

# --- risk indicators (domain.md, "Risk indicators a realistic rule set contains") ---------

ARMS_HS: Final = "ARMS_HS"
EXPLOSIVES_HS: Final = "EXPLOSIVES_HS"
COUNTERFEIT_PRONE_HS: Final = "COUNTERFEIT_PRONE_HS"
VAGUE_DESCRIPTION: Final = "VAGUE_DESCRIPTION"
UNDECLARED_LITHIUM_BATTERY: Final = "UNDECLARED_LITHIUM_BATTERY"
BAD_CONTAINER_CHECK_DIGIT: Final = "BAD_CONTAINER_CHECK_DIGIT"
CONTAINER_WITHOUT_SEAL: Final = "CONTAINER_WITHOUT_SEAL"
TOTALS_MISMATCH: Final = "TOTALS_MISMATCH"
PO_BOX_CONSIGNEE: Final = "PO_BOX_CONSIGNEE"
RISKY_ROUTING: Final = "RISKY_ROUTING"
LATE_FILING: Final = "LATE_FILING"
ZERO_VALUE: Final = "ZERO_VALUE"
STOPWORD_PARTY_NAME: Final = "STOPWORD_PARTY_NAME"
ORIGIN_MISMATCH: Final = "ORIGIN_MISMATCH"
UNVERIFIED_AEO: Final = "UNVERIFIED_AEO"
SUSPENDED_AEO: Final = "SUSPENDED_AEO"

# Relative frequency of each indicator among risky declarations.
INDICATOR_WEIGHTS: Final[dict[str, float]] = {
    ARMS_HS: 1.0,
    EXPLOSIVES_HS: 1.0,
    COUNTERFEIT_PRONE_HS: 1.0,
    VAGUE_DESCRIPTION: 1.5,
    UNDECLARED_LITHIUM_BATTERY: 1.2,
    BAD_CONTAINER_CHECK_DIGIT: 1.0,
    CONTAINER_WITHOUT_SEAL: 0.7,
    TOTALS_MISMATCH: 1.0,
    PO_BOX_CONSIGNEE: 1.0,
    RISKY_ROUTING: 1.2,
    LATE_FILING: 1.2,
    ZERO_VALUE: 1.0,
    STOPWORD_PARTY_NAME: 0.7,
    ORIGIN_MISMATCH: 0.8,
    UNVERIFIED_AEO: 0.7,
    SUSPENDED_AEO: 0.5,
}
RISK_INDICATORS: Final = tuple(INDICATOR_WEIGHTS)
_AIR_ONLY: Final = frozenset({UNDECLARED_LITHIUM_BATTERY})
_CONTAINER_ONLY: Final = frozenset({BAD_CONTAINER_CHECK_DIGIT, CONTAINER_WITHOUT_SEAL})
# These rewrite an item's HS code or description, so each needs an item of its own.
_ITEM_REWRITES: Final = (
    ARMS_HS,
    EXPLOSIVES_HS,
    COUNTERFEIT_PRONE_HS,
    VAGUE_DESCRIPTION,
    UNDECLARED_LITHIUM_BATTERY,
)

LITHIUM_UN_NUMBERS: Final = ("UN3480", "UN3481", "UN3090", "UN3091")
# Lithium cells filed correctly: the description says battery and the UN number is given.
_DECLARED_LITHIUM: Final = {
    "850650": ("UN3090", "Lithium metal batteries"),
    "850760": ("UN3480", "Lithium-ion batteries"),
}
ARMS_HEADINGS: Final = frozenset({"9301", "9302", "9303", "9304", "9305", "9306", "9307"})
EXPLOSIVES_HEADINGS: Final = frozenset({"3601", "3602", "3603", "3604"})
COUNTERFEIT_PRONE_CHAPTERS: Final = frozenset({"30", "64", "91"})
COUNTERFEIT_PRONE_HEADINGS: Final = frozenset({"3303"})
# Goods that usually hold lithium cells, for undeclared-battery filings.
_BATTERY_POWERED_HEADINGS: Final = frozenset(
    {"8517", "8471", "8518", "8525", "8543", "8508", "8509", "8510", "8516", "9503", "9504"}
)
# Subheading texts with these words would look vague or dangerous; ordinary items avoid them.
_UNFIT_FOR_ORDINARY = re.compile(
    r"\b(parts?|accessor\w*|gifts?|various|consolidated|general|samples?|others?|goods"
    r"|miscellaneous|sundr\w*|waste|scrap|worn|batter\w*|cells?|circus\w*)\b",
    re.IGNORECASE,
)

# fmt: off
EU_MEMBERS: Final = frozenset((
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
))
# fmt: on
# Partners whose security AEOs the EU recognises (domain.md, "AEO").
MRA_PARTNERS: Final = frozenset({"NO", "CH", "JP", "MD", "US", "CN", "GB"})
_EORI_DIGITS: Final = {"DE": 13, "NL": 9, "BE": 10, "IT": 11, "FR": 14, "ES": 9, "PL": 10}

_RUN_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_MODE_WEIGHTS: Final[tuple[tuple[Mode, float], ...]] = (
    ("SEA", 0.62),
    ("AIR", 0.33),
    ("ROAD", 0.035),
    ("RAIL", 0.015),
)
# Items per declaration: 1 to 8, mostly few.
_ITEM_COUNT_WEIGHTS: Final = (40, 22, 13, 9, 6, 4, 3, 3)
# Sea volumes scaled down for the other modes.
_PACKAGE_SCALE: Final[dict[str, float]] = {"SEA": 1.0, "RAIL": 1.0, "ROAD": 0.4, "AIR": 0.06}
_POOL_SIZE: Final = 50
_FORWARDERS_PER_COUNTRY: Final = 6
_AMENDMENT_DELAY_MEAN: Final = 200.0  # messages between a version and the next one


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int | None = None
    risky_share: float = 0.05  # share of declarations carrying risk indicators
    malformed_share: float = 0.0  # share of messages that are not valid declarations
    amendment_share: float = 0.05  # share followed later by an AMENDMENT (version 2, 3...)
    invalidation_share: float = 0.01  # share followed later by an INVALIDATION

    def __post_init__(self) -> None:
        for name in ("risky_share", "malformed_share", "amendment_share", "invalidation_share"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {share}")


@dataclass(frozen=True)
class GeneratedMessage:
    key: bytes  # declaration_id as UTF-8 (for malformed ones: a plausible key or b"")
    value: bytes  # the JSON bytes, or the malformed bytes
    kind: MessageKind
    risky: bool
    # Risk indicators carried (risky declarations), or for a malformed message the rejection
    # code the pipeline should give and the defect, e.g. ("SCHEMA", "version_as_string").
    labels: tuple[str, ...] = ()


# --- helpers --------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, from a naive UTC datetime."""
    return moment.isoformat(timespec="milliseconds") + "Z"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_NOISE = ("n.e.c", "heading", "chapter", "other than", "excluding", "whether or not", "item no")
_DANGLING = frozenset(
    ("and", "or", "of", "with", "for", "the", "a", "an", "in", "to", "by", "than", "any", "not")
)


def trade_description(hs_text: str, limit: int = 60) -> str:
    """A goods description as a filer would write it, from an HS subheading text.

    Keeps the article and its first qualifier and drops the nomenclature's cross-references:
    "Footwear; n.e.c. in heading no. 6403, (not covering the ankle), outer soles of rubber..."
    becomes "Footwear, outer soles of rubber".
    """
    text = _PARENTHESES.sub("", _PARENTHESES.sub("", hs_text))
    head, _, rest = text.partition(";")
    head_parts = [_before_noise(part) for part in head.split(",")]
    kept = [_before_noise(clause) for clause in re.split(r"[;,]", rest)]
    kept = [clause for clause in kept if clause]
    head = ", ".join(part for part in head_parts if part)
    if not head:
        head, kept = (kept[0], kept[1:]) if kept else (hs_text.split(";")[0], [])
    described = f"{head}, {kept[0]}" if kept else head
    return _shorten(described, limit)


def _before_noise(text: str) -> str:
    """The part of a clause before its first cross-reference ("n.e.c. in heading ...")."""
    lowered = text.lower()
    cut = min((i for noise in _NOISE if (i := lowered.find(noise)) >= 0), default=len(text))
    return text[:cut].strip(" ,;:")


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text.strip(" ,;:")
    words = text[: limit + 1].split()[:-1] or [text[:limit]]
    while len(words) > 1 and words[-1].lower().strip(",;:") in _DANGLING:
        words.pop()
    return " ".join(words).strip(" ,;:")


def _ordinary(sub: Subheading, description: str) -> bool:
    """True when an item with this subheading carries no risk indicator by itself."""
    return len(description) >= 5 and not (
        sub.chapter in COUNTERFEIT_PRONE_CHAPTERS
        or sub.chapter in {"93", "36"}
        or sub.heading in COUNTERFEIT_PRONE_HEADINGS
        or _UNFIT_FOR_ORDINARY.search(description)
    )


# --- static catalogue (derived from the bundled data only) ---------------------------------


@dataclass(frozen=True)
class _WeightedChoice:
    """Items and cumulative weights, for ``random.choices``."""

    items: tuple[Any, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weighted: Sequence[tuple[Any, float]]) -> _WeightedChoice:
        kept = [(item, weight) for item, weight in weighted if weight > 0]
        return cls(tuple(i for i, _ in kept), tuple(_cumulative([w for _, w in kept])))

    def pick(self, rng: random.Random) -> Any:
        return rng.choices(self.items, cum_weights=self.cumulative)[0]

    def pick_many(self, rng: random.Random, count: int) -> list[Any]:
        return rng.choices(self.items, cum_weights=self.cumulative, k=count)


@dataclass(frozen=True)
class _Catalogue:
    """Reference data arranged for fast drawing; built once per process."""

    descriptions: dict[str, str]
    by_mode_country: dict[tuple[str, str], tuple[Location, ...]]
    exporters: dict[str, _WeightedChoice]
    importers: dict[str, _WeightedChoice]
    flagged: frozenset[str]
    high_risk: tuple[str, ...]
    transhipment: tuple[str, ...]
    flagged_loading: dict[str, tuple[Location, ...]]
    cities: dict[str, tuple[str, ...]]
    industry_goods: tuple[_WeightedChoice, ...]
    industries: _WeightedChoice  # of industry indexes
    arms: tuple[Subheading, ...]
    explosives: tuple[Subheading, ...]
    counterfeit_prone: tuple[Subheading, ...]
    battery_powered: tuple[Subheading, ...]
    sea_carriers: _WeightedChoice
    air_carriers: tuple[AirCarrier, ...]


_MODE_TEST: Final[dict[str, Callable[[Location], bool]]] = {
    "SEA": lambda loc: loc.seaport,
    "AIR": lambda loc: loc.airport,
    "ROAD": lambda loc: loc.road,
    "RAIL": lambda loc: loc.rail,
}


def _city_name(name: str) -> str | None:
    """A location name usable as a city in an address, or None for terminals and airports."""
    if any(mark in name for mark in ("Apt", "/", " Pt", "Terminal", "Port ")):
        return None
    return _PARENTHESES.sub("", name).strip() or None


@cache
def _catalogue() -> _Catalogue:
    vocab = reference.vocabulary()
    locations = reference.locations()
    flagged = frozenset(vocab.high_risk_countries) | frozenset(vocab.transhipment_countries)
    by_mode_country: dict[tuple[str, str], list[Location]] = {}
    for loc in locations:
        for mode, test in _MODE_TEST.items():
            if test(loc):
                by_mode_country.setdefault((mode, loc.country), []).append(loc)

    def weighted(
        table: dict[str, dict[str, float]], excluded: frozenset[str] = frozenset()
    ) -> dict[str, _WeightedChoice]:
        return {
            mode: _WeightedChoice.of(
                [
                    (cc, weight)
                    for cc, weight in weights.items()
                    if (mode, cc) in by_mode_country and cc not in excluded
                ]
            )
            for mode, weights in table.items()
        }

    cities: dict[str, list[str]] = {cc: [] for cc in reference.countries()}
    for loc in locations:
        city = _city_name(loc.name)
        if city and city not in cities.setdefault(loc.country, []):
            cities[loc.country].append(city)
    for cc, country in reference.countries().items():
        if not cities[cc]:
            cities[cc].append(country.capital)

    descriptions = {s.code: trade_description(s.description) for s in reference.subheadings()}
    by_chapter: dict[str, list[Subheading]] = {}
    for sub in reference.subheadings():
        if sub.code in _DECLARED_LITHIUM or _ordinary(sub, descriptions[sub.code]):
            by_chapter.setdefault(sub.chapter, []).append(sub)
    for code, (_, text) in _DECLARED_LITHIUM.items():
        descriptions[code] = text

    def goods_of(industry: Industry) -> _WeightedChoice:
        return _WeightedChoice.of(
            [
                (sub, weight / len(by_chapter[chapter]))
                for chapter, weight in industry.chapters.items()
                for sub in by_chapter.get(chapter, ())
            ]
        )

    subs = reference.subheadings()
    return _Catalogue(
        descriptions=descriptions,
        by_mode_country={key: tuple(value) for key, value in by_mode_country.items()},
        # Ordinary filings never load in a flagged country: that is an indicator.
        exporters=weighted(vocab.export_countries, excluded=flagged),
        importers=weighted(vocab.import_countries),
        flagged=flagged,
        high_risk=vocab.high_risk_countries,
        transhipment=vocab.transhipment_countries,
        flagged_loading={
            mode: tuple(
                loc for loc in locations if _MODE_TEST[mode](loc) and loc.country in flagged
            )
            for mode in _MODE_TEST
        },
        cities={cc: tuple(names) for cc, names in cities.items()},
        industry_goods=tuple(goods_of(industry) for industry in vocab.industries),
        industries=_WeightedChoice.of([(i, ind.weight) for i, ind in enumerate(vocab.industries)]),
        arms=tuple(s for s in subs if s.heading in ARMS_HEADINGS),
        explosives=tuple(s for s in subs if s.heading in EXPLOSIVES_HEADINGS),
        counterfeit_prone=tuple(
            s
            for s in subs
            if s.chapter in COUNTERFEIT_PRONE_CHAPTERS or s.heading in COUNTERFEIT_PRONE_HEADINGS
        ),
        battery_powered=tuple(
            s
            for chapter in ("85", "84", "95")
            for s in by_chapter.get(chapter, ())
            if s.heading in _BATTERY_POWERED_HEADINGS and s.code not in _DECLARED_LITHIUM
        ),
        sea_carriers=_WeightedChoice.of([(c, c.weight) for c in vocab.sea_carriers]),
        air_carriers=vocab.air_carriers,
    )


# --- parties --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Company:
    party: Json  # never mutated: declarations share it; changes are made on copies
    industry: int
    code: str  # three letters, for house bill numbers


@dataclass
class _Registry:
    """The AEO records of the generated companies, as the AEO loader's CSV rows."""

    records: list[dict[str, str | None]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    def add(self, record: dict[str, str | None]) -> None:
        self.records.append(record)
        self.ids.add(str(record["operator_id"]))


class _PartyFactory:
    """Builds companies in the naming, address and identifier conventions of their country."""

    def __init__(self, rng: random.Random, today: datetime) -> None:
        self._rng = rng
        self._today = today
        self._vocab = reference.vocabulary()
        self._countries = reference.countries()
        self.registry = _Registry()

    def company(self, country: str, industry: int, words: Sequence[str]) -> _Company:
        name = self._name(country, words)
        party: Json = {
            "name": name,
            "ids": self._ids(country, name, "ACTIVE"),
            "address": self.address(country),
            "contact": self.contact(country, name),
        }
        return _Company(party, industry, self._code(name))

    def suspended_company(self, country: str, industry: int, words: Sequence[str]) -> _Company:
        """A company whose AEO status has been suspended or revoked."""
        name = self._name(country, words)
        status = self._rng.choice(("SUSPENDED", "REVOKED"))
        party: Json = {
            "name": name,
            "ids": self._ids(country, name, status, aeo_share=1.0),
            "address": self.address(country),
            "contact": self.contact(country, name),
        }
        return _Company(party, industry, self._code(name))

    def _name(self, country: str, words: Sequence[str]) -> str:
        rng = self._rng
        style = self._vocab.name_style.get(country, "en")
        base = rng.choice(self._vocab.name_words.get(style) or self._vocab.name_words["en"])
        if style == "cn" and rng.random() < 0.6:
            base = f"{rng.choice(_catalogue().cities[country])} {base}"
        forms = self._vocab.legal_forms.get(country) or self._vocab.legal_forms["default"]
        return rng.choice(forms).format(f"{base} {rng.choice(words)}")

    def _code(self, name: str) -> str:
        letters = [ch for ch in _ascii_slug(name).upper() if ch.isalpha()]
        return "".join([*letters, "X", "X", "X"][:3])

    def _digits(self, count: int) -> str:
        return f"{self._rng.randrange(10**count):0{count}d}"

    def _ids(self, country: str, name: str, status: str, aeo_share: float = 0.2) -> list[Json]:
        ids = [self._national_id(country)]
        has_programme = country in EU_MEMBERS or country in MRA_PARTNERS
        if has_programme and self._rng.random() < aeo_share:
            ids.append(self._aeo_id(country, name, status))
        return ids

    def _national_id(self, country: str) -> Json:
        rng = self._rng
        if country in EU_MEMBERS or country == "GB":
            digits = _EORI_DIGITS.get(country, 12)
            return {"scheme": "EORI", "value": f"{country}{self._digits(digits)}"}
        if country == "CN":
            code = "".join(rng.choice(_USCC_ALPHABET) for _ in range(16))
            return {"scheme": "TIN", "value": f"91{code}"}
        if country == "US":
            return {"scheme": "TIN", "value": f"{self._digits(2)}-{self._digits(7)}"}
        scheme = "TIN" if rng.random() < 0.8 else "OTHER"
        return {"scheme": scheme, "value": f"{country}{self._digits(rng.randint(9, 12))}"}

    def _aeo_id(self, country: str, name: str, status: str) -> Json:
        """An AEO id as the programme writes it, recorded in the registry."""
        rng = self._rng
        if country == "US":
            scheme, aeo_type, value = "CTPAT", "CTPAT", self._mid(name)
        else:
            # MRAs cover security AEOs only, so partners' operators are AEOS or AEOF.
            kinds = "FFFSSC" if country in EU_MEMBERS else "FFS"
            aeo_type = "AEO" + rng.choice(kinds)
            scheme = "AEO"
            if country == "CN":
                value = f"AEOCN{self._digits(10)}"
            else:
                value = f"{country}{aeo_type}{self._digits(7)}"
        since = self._today - timedelta(days=rng.randint(30, 3000))
        self.registry.add(
            {
                "operator_id": value,
                "scheme": scheme,
                "name": name,
                "country": country,
                "aeo_type": aeo_type,
                "status": status,
                "valid_from": since.date().isoformat(),
                "valid_to": None,
                "mra_partner": None if country in EU_MEMBERS else country,
            }
        )
        return {"scheme": scheme, "value": value}

    def _mid(self, name: str) -> str:
        """A manufacturer-id-like key: country, name fragments, digits, city fragment."""
        words = [w for w in re.split(r"\W+", name.upper()) if w.isalpha()] + ["X", "X"]
        return f"US{words[0][:3]}{words[1][:3]}{self._digits(4)}"

    def address(self, country: str) -> Json:
        rng = self._rng
        vocab = self._vocab
        style = vocab.name_style.get(country, "en")
        formats = vocab.street_formats.get(style) or vocab.street_formats["en"]
        words = vocab.street_words.get(style) or vocab.street_words["en"]
        street = rng.choice(formats).format(n=rng.randint(1, 399), s=rng.choice(words))
        return {
            "street": street,
            "city": rng.choice(_catalogue().cities[country]),
            "postcode": self.postcode(country),
            "country": country,
            "po_box": False,
        }

    def postcode(self, country: str) -> str | None:
        formats = self._vocab.postcode_formats
        pattern = formats.get(country, formats["default"])
        if not pattern:
            return None
        rng = self._rng
        return "".join(
            str(rng.randrange(10))
            if ch == "9"
            else chr(65 + rng.randrange(26))
            if ch == "A"
            else ch
            for ch in pattern
        )

    def contact(self, country: str, name: str) -> Json:
        rng = self._rng
        info = self._countries.get(country)
        dial = info.dial if info else "1"
        tld = info.tld if info and rng.random() < 0.7 else ".com"
        slug = _ascii_slug(name.split()[0]) or "trade"
        local = rng.choice(("info", "sales", "export", "logistics", "shipping", "import", "office"))
        phone = f"+{dial} {self._digits(rng.randint(2, 3))} {self._digits(rng.randint(6, 8))}"
        return {"phone": phone, "email": f"{local}@{slug}{tld}"}


# --- the draft of one declaration -----------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    loading: Location
    discharge: Location
    routing: list[str]
    carrier: SeaCarrier | AirCarrier | None


@dataclass
class _Draft:
    """A declaration being built, with the facts later versions need."""

    doc: Json
    mode: Mode
    route: _Route
    submitted: datetime
    loading: datetime
    arrival: datetime
    indicators: tuple[str, ...]
    version: int = 1
    amendments_left: int = 0
    invalidate: bool = False


class DeclarationGenerator:
    """Draws declarations and streams of messages; see the module docstring.

    ``now`` gives the current time (timezone-aware, or naive in UTC) and defaults to the
    system clock; every timestamp is relative to it. The company pool and its AEO registry
    are drawn when the generator is made, so ``aeo_records()`` is complete from the start.
    """

    def __init__(
        self,
        config: GeneratorConfig = GeneratorConfig(),
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self._now = now or _utc_now
        self._cat = _catalogue()
        self._vocab = reference.vocabulary()
        start = self._clock()
        self._run = "".join(self._rng.choice(_RUN_ALPHABET) for _ in range(5))
        self._id_prefix = f"PLACI-{start.year}-{self._run}-"
        self._sequence = itertools.count(1)
        self._parties = _PartyFactory(self._rng, start)
        self._companies = self._build_companies()
        self._suspended = self._build_suspended()
        self._forwarders = {cc: self._build_forwarders(cc) for cc in self._companies}
        self._popularity = _cumulative([1.0 / (rank + 1) ** 0.8 for rank in range(_POOL_SIZE)])
        self._item_counts = _cumulative(_ITEM_COUNT_WEIGHTS)
        self._indicator_choice = _WeightedChoice.of(list(INDICATOR_WEIGHTS.items()))
        self._mode_choice = _WeightedChoice.of(list(_MODE_WEIGHTS))

    # --- public API -----------------------------------------------------------------------

    def declaration(self, risky: bool | None = None) -> Json:
        """One valid FILING as a JSON-ready dict; risky as configured unless given."""
        if risky is None:
            risky = self._rng.random() < self._config.risky_share
        # A copy: the draft shares party dicts with the generator's company pool.
        document: Json = orjson.loads(orjson.dumps(self._draft(risky).doc))
        return document

    def messages(self, count: int) -> Iterator[GeneratedMessage]:
        """Exactly ``count`` messages: filings, later versions of some, and malformed ones."""
        pending: list[tuple[int, int, _Draft]] = []
        order = itertools.count()
        cfg = self._config
        rng = self._rng
        for slot in range(count):
            if cfg.malformed_share and rng.random() < cfg.malformed_share:
                yield self._malformed()
            elif pending and pending[0][0] <= slot:
                _, _, draft = heapq.heappop(pending)
                yield self._next_version(draft)
                if draft.amendments_left or draft.invalidate:
                    heapq.heappush(pending, (slot + self._delay(), next(order), draft))
            else:
                draft = self._draft(rng.random() < cfg.risky_share)
                yield self._message(draft, "FILING")
                if self._plan_versions(draft):
                    heapq.heappush(pending, (slot + self._delay(), next(order), draft))

    def aeo_records(self) -> list[dict[str, str | None]]:
        """AEO registry rows for the companies this generator uses (AEO loader CSV fields).

        Load them so that AEO claims in the stream can be verified; claims in declarations
        labelled UNVERIFIED_AEO are deliberately absent from them.
        """
        return [dict(record) for record in self._parties.registry.records]

    # --- building blocks ------------------------------------------------------------------

    def _clock(self) -> datetime:
        moment = self._now()
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment

    def _next_id(self) -> str:
        return f"{self._id_prefix}{next(self._sequence):09d}"

    def _digits(self, count: int) -> str:
        return f"{self._rng.randrange(10**count):0{count}d}"

    def _delay(self) -> int:
        return 1 + int(self._rng.expovariate(1.0 / _AMENDMENT_DELAY_MEAN))

    def _build_companies(self) -> dict[str, list[_Company]]:
        countries = {
            cc
            for table in (self._vocab.export_countries, self._vocab.import_countries)
            for weights in table.values()
            for cc in weights
        } | self._cat.flagged
        industries = self._vocab.industries
        pools: dict[str, list[_Company]] = {}
        for cc in sorted(countries):
            if cc not in self._cat.cities:
                continue
            pools[cc] = []
            for _ in range(_POOL_SIZE):
                index = self._cat.industries.pick(self._rng)
                pools[cc].append(self._parties.company(cc, index, industries[index].words))
        return pools

    def _build_suspended(self) -> dict[str, list[_Company]]:
        industries = self._vocab.industries
        pools: dict[str, list[_Company]] = {}
        for cc in sorted(EU_MEMBERS & self._companies.keys()):
            pools[cc] = []
            for _ in range(3):
                index = self._cat.industries.pick(self._rng)
                company = self._parties.suspended_company(cc, index, industries[index].words)
                pools[cc].append(company)
        return pools

    def _build_forwarders(self, country: str) -> list[_Company]:
        words = self._vocab.forwarder_words
        return [self._parties.company(country, -1, words) for _ in range(_FORWARDERS_PER_COUNTRY)]

    def _company(self, country: str) -> _Company:
        pool = self._companies[country]
        return self._rng.choices(pool, cum_weights=self._popularity)[0]

    def _forwarder(self, country: str) -> _Company:
        return self._rng.choice(self._forwarders[country])

    # --- one filing -----------------------------------------------------------------------

    def _draft(self, risky: bool) -> _Draft:
        indicators = self._pick_indicators() if risky else ()
        mode = self._pick_mode(indicators)
        route = self._route(mode, RISKY_ROUTING in indicators)
        submitted = self._clock()
        loading, arrival = self._schedule(mode, route, submitted, LATE_FILING in indicators)
        consignor = self._company(route.loading.country)
        consignee = self._company(route.discharge.country)
        goods, equipment = self._goods(mode, route, consignor)
        doc: Json = {
            "declaration_id": self._next_id(),
            "version": 1,
            "message_type": "FILING",
            "submitted_at": _timestamp(submitted),
            "declarant": None,
            "transport": {
                "mode": mode,
                "carrier": None,
                "conveyance_ref": self._conveyance(mode, route),
                "loading_location": route.loading.code,
                "discharge_location": route.discharge.code,
                "routing_countries": route.routing,
                "estimated_loading_at": _timestamp(loading),
                "estimated_arrival_at": _timestamp(arrival),
            },
            "transport_document": None,
            "consignor": consignor.party,
            "consignee": consignee.party,
            "notify_party": self._notify_party(consignee, route.discharge.country),
            "equipment": equipment,
            "goods": goods,
            "totals": None,
        }
        self._filers(doc, mode, route)
        draft = _Draft(doc, mode, route, submitted, loading, arrival, indicators)
        self._apply_item_indicators(draft)
        doc["totals"] = _totals(goods)
        self._apply_document_indicators(draft)
        return draft

    def _pick_indicators(self) -> tuple[str, ...]:
        rng = self._rng
        wanted = 1 + (rng.random() < 0.4) + (rng.random() < 0.25)
        chosen: list[str] = []
        for _ in range(10):
            if len(chosen) == wanted:
                break
            candidate = self._indicator_choice.pick(rng)
            conflict = (candidate in _AIR_ONLY and any(c in _CONTAINER_ONLY for c in chosen)) or (
                candidate in _CONTAINER_ONLY and any(c in _AIR_ONLY for c in chosen)
            )
            if candidate not in chosen and not conflict:
                chosen.append(candidate)
        return tuple(chosen)

    def _pick_mode(self, indicators: tuple[str, ...]) -> Mode:
        if any(i in _AIR_ONLY for i in indicators):
            return "AIR"
        if any(i in _CONTAINER_ONLY for i in indicators):
            return "SEA"
        if LATE_FILING in indicators:
            return "SEA" if self._rng.random() < 0.65 else "AIR"
        mode: Mode = self._mode_choice.pick(self._rng)
        return mode

    def _location(self, mode: str, country: str) -> Location:
        return self._rng.choice(self._cat.by_mode_country[(mode, country)])

    def _route(self, mode: Mode, risky_routing: bool) -> _Route:
        rng = self._rng
        cat = self._cat
        dest_cc: str = cat.importers[mode].pick(rng)
        discharge = self._location(mode, dest_cc)
        if risky_routing and cat.flagged_loading[mode] and rng.random() < 0.35:
            loading = rng.choice(cat.flagged_loading[mode])
        else:
            loading = self._location(mode, cat.exporters[mode].pick(rng))
        carrier, hub = self._carrier(mode, loading.country, risky_routing)
        transit = self._transit(mode, loading.country, dest_cc, hub)
        if risky_routing and not cat.flagged.intersection([loading.country, *transit]):
            # Ships and planes call there first; trains cross it after Kazakhstan.
            transit.insert(len(transit) if mode == "RAIL" else 0, self._flagged_transit(mode))
        routing = [loading.country, *transit, dest_cc]
        return _Route(loading, discharge, routing, carrier)

    def _transit(self, mode: Mode, loading_cc: str, dest_cc: str, hub: str | None) -> list[str]:
        """Countries between loading and destination: the airline's hub, another EU port of
        call, or Kazakhstan on the rail corridor."""
        if mode == "AIR":
            return [hub] if hub and hub not in (loading_cc, dest_cc) else []
        if mode == "RAIL":
            return ["KZ"]
        if mode == "SEA" and self._rng.random() < 0.25:
            call: str = self._cat.importers["SEA"].pick(self._rng)
            return [call] if call != dest_cc else []
        return []

    def _flagged_transit(self, mode: Mode) -> str:
        rng = self._rng
        if mode in ("RAIL", "ROAD"):
            return rng.choice(("RU", "BY"))
        pool = self._cat.transhipment if rng.random() < 0.55 else self._cat.high_risk
        return str(rng.choice(pool))

    def _carrier(
        self, mode: Mode, loading_cc: str, risky_routing: bool
    ) -> tuple[SeaCarrier | AirCarrier | None, str | None]:
        """The carrier, and the country of the hub the goods pass through (air only)."""
        rng = self._rng
        if mode == "SEA":
            sea: SeaCarrier = self._cat.sea_carriers.pick(rng)
            return sea, None
        if mode != "AIR":
            return None, None
        flagged = self._cat.flagged
        carriers = [
            c
            for c in self._cat.air_carriers
            if (c.hub in flagged) == risky_routing or c.hub == loading_cc
        ]
        home = [c for c in carriers if c.country == loading_cc]
        if home and rng.random() < 0.6:
            carriers = home
        air: AirCarrier = rng.choices(carriers, weights=[c.weight for c in carriers])[0]
        return air, air.hub

    def _schedule(
        self, mode: Mode, route: _Route, submitted: datetime, late: bool
    ) -> tuple[datetime, datetime]:
        """Estimated loading and arrival: sea filed 25-96 h ahead, air a few hours ahead."""
        rng = self._rng
        if mode == "SEA":
            lead = timedelta(hours=rng.uniform(2, 22) if late else rng.uniform(25, 96))
            country = reference.countries().get(route.loading.country)
            region = country.subregion if country else ""
            low, high = self._vocab.sea_transit_days.get(region, (10.0, 30.0))
            transit = timedelta(days=rng.uniform(low, high))
        elif mode == "AIR":
            lead = timedelta(hours=-rng.uniform(0, 3) if late else rng.uniform(2, 30))
            transit = timedelta(hours=rng.uniform(6, 30))
        elif mode == "ROAD":
            lead = timedelta(hours=rng.uniform(2, 24))
            transit = timedelta(hours=rng.uniform(10, 72))
        else:
            lead = timedelta(hours=rng.uniform(24, 72))
            transit = timedelta(days=rng.uniform(14, 24))
        loading = submitted + lead
        return loading, loading + transit

    def _conveyance(self, mode: Mode, route: _Route) -> str:
        rng = self._rng
        if isinstance(route.carrier, AirCarrier):
            return f"{route.carrier.iata}{rng.randint(100, 9899)}"
        if mode == "SEA":
            return f"{rng.randint(100, 999)}{rng.choice('WENS')}"
        if mode == "RAIL":
            return f"X{rng.randint(8000, 9999)}"
        letters = "".join(chr(65 + rng.randrange(26)) for _ in range(2))
        return f"{route.loading.country}-{letters}{self._digits(4)}"

    def _filers(self, doc: Json, mode: Mode, route: _Route) -> None:
        """Carrier, transport document and declarant: master bills are filed by the carrier,
        house bills by a forwarder in the country of destination."""
        rng = self._rng
        dest_cc = route.discharge.country
        forwarder = self._forwarder(dest_cc)
        carrier = route.carrier
        if isinstance(carrier, SeaCarrier):
            carrier_party = _carrier_party(carrier.name, carrier.country, "SCAC", carrier.scac)
            if rng.random() < 0.6:
                number, declarant = f"{carrier.scac}{self._digits(9)}", carrier_party
                document = {"type": "MBL", "number": number}
            else:
                number = f"{forwarder.code}{route.loading.code[2:]}{self._digits(7)}"
                document, declarant = {"type": "HBL", "number": number}, forwarder.party
        elif isinstance(carrier, AirCarrier):
            carrier_party = _carrier_party(carrier.name, carrier.country, "IATA", carrier.iata)
            if rng.random() < 0.5:
                serial = rng.randrange(10**7)
                number = f"{carrier.awb_prefix}-{serial:07d}{serial % 7}"
                document, declarant = {"type": "MAWB", "number": number}, carrier_party
            else:
                number = f"{forwarder.code}{self._digits(8)}"
                document, declarant = {"type": "HAWB", "number": number}, forwarder.party
        else:
            haulier = self._forwarder(route.loading.country)
            carrier_party, document, declarant = haulier.party, None, forwarder.party
        doc["transport"]["carrier"] = carrier_party
        doc["transport_document"] = document
        doc["declarant"] = declarant

    def _notify_party(self, consignee: _Company, dest_cc: str) -> Json | None:
        roll = self._rng.random()
        if roll < 0.5:
            return None
        return consignee.party if roll < 0.8 else self._forwarder(dest_cc).party

    # --- goods and equipment --------------------------------------------------------------

    def _goods(
        self, mode: Mode, route: _Route, consignor: _Company
    ) -> tuple[list[Json], list[Json]]:
        rng = self._rng
        count = rng.choices(range(1, 9), cum_weights=self._item_counts)[0]
        industry_index = consignor.industry if consignor.industry >= 0 else 0
        industry = self._vocab.industries[industry_index]
        subs: list[Subheading] = self._cat.industry_goods[industry_index].pick_many(rng, count)
        scale = _PACKAGE_SCALE[mode] / math.sqrt(count)
        origin = route.loading.country
        goods = [self._item(seq, sub, industry, scale, origin) for seq, sub in enumerate(subs, 1)]
        equipment: list[Json] = []
        if mode in ("SEA", "RAIL"):
            equipment = self._equipment(route, sum(item["gross_mass_kg"] for item in goods))
            _stow(goods, [e["container_id"] for e in equipment])
        return goods, equipment

    def _item(
        self, seq: int, sub: Subheading, industry: Industry, scale: float, origin: str
    ) -> Json:
        rng = self._rng
        package_type = rng.choice(industry.package_types)
        size = self._vocab.package_types[package_type]
        packages = max(1, int(rng.uniform(size.count[0], size.count[1]) * scale))
        mass = max(0.1, round(packages * rng.uniform(size.kg[0], size.kg[1]), 1))
        description = self._cat.descriptions[sub.code]
        if rng.random() < 0.5:
            description = description.upper()
        lithium = _DECLARED_LITHIUM.get(sub.code)
        return {
            "seq": seq,
            "hs_code": sub.code,
            "description": description,
            "packages": packages,
            "package_type": package_type,
            "gross_mass_kg": mass,
            "origin_country": origin,
            "un_number": lithium[0] if lithium else None,
            "container_ids": [],
            "value": self._value(mass, industry, origin),
        }

    def _value(self, mass: float, industry: Industry, origin: str) -> Json:
        rng = self._rng
        roll = rng.random()
        if roll < 0.55:
            currency = "USD"
        elif roll < 0.9:
            currency = "EUR"
        else:
            country = reference.countries().get(origin)
            local = country.currency if country else ""
            currency = local if local in self._vocab.usd_rates else "USD"
        usd = mass * rng.uniform(industry.usd_per_kg[0], industry.usd_per_kg[1])
        return {"amount": round(usd * self._vocab.usd_rates[currency], 2), "currency": currency}

    def _equipment(self, route: _Route, mass: float) -> list[Json]:
        rng = self._rng
        count = min(8, max(1, math.ceil(mass / rng.uniform(9000, 24000))))
        owners: Sequence[str] = self._vocab.lessor_owner_codes
        if isinstance(route.carrier, SeaCarrier) and rng.random() < 0.7:
            owners = route.carrier.owner_codes
        seal_prefix = route.carrier.scac[:2] if isinstance(route.carrier, SeaCarrier) else "RW"
        equipment = []
        for _ in range(count):
            body = rng.choice(owners) + self._digits(6)
            seals = [f"{seal_prefix}-{route.loading.country}{self._digits(7)}"]
            if rng.random() < 0.25:
                seals.append(self._digits(6))
            equipment.append(
                {"container_id": body + iso6346.calc_check_digit(body), "seals": seals}
            )
        return equipment

    # --- risk indicators ------------------------------------------------------------------

    def _apply_item_indicators(self, draft: _Draft) -> None:
        if not draft.indicators:
            return
        goods: list[Json] = draft.doc["goods"]
        rewrites = [i for i in draft.indicators if i in _ITEM_REWRITES]
        while len(goods) < len(rewrites):
            goods.append(dict(goods[-1], seq=len(goods) + 1))
        slots = self._rng.sample(range(len(goods)), len(goods))
        for indicator, slot in zip(rewrites, slots[: len(rewrites)], strict=True):
            goods[slot] = self._rewrite_item(indicator, goods[slot])
        if ZERO_VALUE in draft.indicators:
            item = self._rng.choice(goods)
            item["value"] = {"amount": 0.0, "currency": item["value"]["currency"]}
        if ORIGIN_MISMATCH in draft.indicators:
            self._rng.choice(goods)["origin_country"] = self._other_origin(
                draft.doc["transport"]["routing_countries"][0]
            )

    def _rewrite_item(self, indicator: str, item: Json) -> Json:
        rng = self._rng
        cat = self._cat
        # Whatever the item was (possibly a declared lithium battery), it is now something else.
        item = dict(item, un_number=None)
        pools = {
            ARMS_HS: cat.arms,
            EXPLOSIVES_HS: cat.explosives,
            COUNTERFEIT_PRONE_HS: cat.counterfeit_prone,
            UNDECLARED_LITHIUM_BATTERY: cat.battery_powered,
        }
        if indicator == VAGUE_DESCRIPTION:
            item["description"] = rng.choice(self._vocab.vague_descriptions)
            return item
        sub = rng.choice(pools[indicator])
        item["hs_code"] = sub.code
        item["description"] = cat.descriptions[sub.code]
        if indicator == UNDECLARED_LITHIUM_BATTERY:
            item["un_number"] = rng.choice(LITHIUM_UN_NUMBERS)
        return item

    def _other_origin(self, loading_cc: str) -> str:
        if loading_cc != "CN" and self._rng.random() < 0.6:
            return "CN"
        while (origin := self._cat.exporters["SEA"].pick(self._rng)) == loading_cc:
            pass
        return str(origin)

    def _apply_document_indicators(self, draft: _Draft) -> None:
        if not draft.indicators:
            return
        doc = draft.doc
        rng = self._rng
        indicators = draft.indicators
        # First, so that changes made to the consignee below are kept.
        if SUSPENDED_AEO in indicators:
            country = draft.route.discharge.country
            pool = self._suspended.get(country) or next(iter(self._suspended.values()))
            doc["consignee"] = rng.choice(pool).party
        if BAD_CONTAINER_CHECK_DIGIT in indicators:
            _break_check_digit(doc, rng)
        if CONTAINER_WITHOUT_SEAL in indicators:
            index = rng.randrange(len(doc["equipment"]))
            doc["equipment"][index] = dict(doc["equipment"][index], seals=[])
        if TOTALS_MISMATCH in indicators:
            doc["totals"] = _skew_totals(doc["totals"], rng)
        if PO_BOX_CONSIGNEE in indicators:
            doc["consignee"] = self._po_box_only(doc["consignee"])
        if STOPWORD_PARTY_NAME in indicators:
            role = rng.choice(("consignor", "consignee"))
            doc[role] = dict(doc[role], name=rng.choice(self._vocab.stopword_party_names))
        if UNVERIFIED_AEO in indicators:
            role = rng.choice(("consignor", "consignee"))
            doc[role] = self._claim_unknown_aeo(doc[role])

    def _po_box_only(self, party: Json) -> Json:
        country = party["address"]["country"]
        address = {
            "street": f"P.O. Box {self._rng.randint(10, 99999)}",
            "city": party["address"]["city"],
            "postcode": self._parties.postcode(country),
            "country": country,
            "po_box": True,
        }
        return dict(party, address=address)

    def _claim_unknown_aeo(self, party: Json) -> Json:
        country = party["address"]["country"]
        while True:
            value = f"{country}AEOF{self._digits(7)}"
            if value not in self._parties.registry.ids:
                break
        return dict(party, ids=[*party["ids"], {"scheme": "AEO", "value": value}])

    # --- versions -------------------------------------------------------------------------

    def _plan_versions(self, draft: _Draft) -> bool:
        rng = self._rng
        if rng.random() < self._config.amendment_share:
            draft.amendments_left = 1 + (rng.random() < 0.2)
        draft.invalidate = rng.random() < self._config.invalidation_share
        return bool(draft.amendments_left or draft.invalidate)

    def _next_version(self, draft: _Draft) -> GeneratedMessage:
        draft.version += 1
        draft.submitted = max(self._clock(), draft.submitted + timedelta(seconds=1))
        if draft.amendments_left:
            draft.amendments_left -= 1
            self._amend(draft)
            return self._message(draft, "AMENDMENT")
        draft.invalidate = False
        doc = {
            "declaration_id": draft.doc["declaration_id"],
            "version": draft.version,
            "message_type": "INVALIDATION",
            "submitted_at": _timestamp(draft.submitted),
        }
        key = doc["declaration_id"].encode()
        return GeneratedMessage(key, orjson.dumps(doc), "INVALIDATION", False)

    def _amend(self, draft: _Draft) -> None:
        """Change one field, as filers do: a corrected mass or count, a new voyage or flight,
        new contact details, another notify party."""
        rng = self._rng
        doc = draft.doc
        changes = ["contact", "notify"]
        # Corrections could bring skewed totals back in line, and a new schedule could
        # turn a late filing into a timely one: risky versions keep their indicators.
        if TOTALS_MISMATCH not in draft.indicators:
            changes += ["mass", "packages"]
        if LATE_FILING not in draft.indicators:
            changes.append("schedule")
        change = rng.choice(changes)
        if change in ("mass", "packages"):
            self._correct_item(draft, change)
        elif change == "contact":
            consignee = doc["consignee"]
            contact = self._parties.contact(consignee["address"]["country"], consignee["name"])
            doc["consignee"] = dict(consignee, contact=contact)
        elif change == "notify":
            forwarders = self._forwarders[draft.route.discharge.country]
            others = [f.party for f in forwarders if f.party is not doc["notify_party"]]
            doc["notify_party"] = rng.choice(others)
        else:
            self._reschedule(draft, timedelta(days=rng.uniform(1, 5)))
        self._keep_on_time(draft)
        doc["version"] = draft.version
        doc["message_type"] = "AMENDMENT"
        doc["submitted_at"] = _timestamp(draft.submitted)

    def _correct_item(self, draft: _Draft, change: str) -> None:
        rng = self._rng
        doc = draft.doc
        goods = list(doc["goods"])
        index = rng.randrange(len(goods))
        item = dict(goods[index])
        if change == "mass":
            mass = item["gross_mass_kg"]
            delta = max(0.1, round(mass * rng.uniform(0.01, 0.05), 1))
            down = rng.random() < 0.5 and mass > delta
            item["gross_mass_kg"] = round(mass - delta if down else mass + delta, 1)
        else:
            packages = item["packages"]
            step = max(1, packages // 20)
            down = rng.random() < 0.5 and packages > step
            item["packages"] = packages - step if down else packages + step
        goods[index] = item
        doc["goods"] = goods
        doc["totals"] = _totals(goods)

    def _reschedule(self, draft: _Draft, shift: timedelta) -> None:
        draft.loading += shift
        draft.arrival += shift
        transport = dict(draft.doc["transport"])
        transport["estimated_loading_at"] = _timestamp(draft.loading)
        transport["estimated_arrival_at"] = _timestamp(draft.arrival)
        transport["conveyance_ref"] = self._conveyance(draft.mode, draft.route)
        draft.doc["transport"] = transport

    def _keep_on_time(self, draft: _Draft) -> None:
        """Postpone loading when a later version would otherwise turn into a late filing."""
        if LATE_FILING in draft.indicators:
            return
        lead = draft.loading - draft.submitted
        if draft.mode == "SEA" and lead < timedelta(hours=24, minutes=10):
            self._reschedule(draft, timedelta(days=1))
        elif draft.mode == "AIR" and lead < timedelta(minutes=30):
            self._reschedule(draft, timedelta(hours=12))

    # --- messages -------------------------------------------------------------------------

    def _message(self, draft: _Draft, kind: MessageKind) -> GeneratedMessage:
        doc = draft.doc
        return GeneratedMessage(
            doc["declaration_id"].encode(),
            orjson.dumps(doc),
            kind,
            bool(draft.indicators),
            draft.indicators,
        )

    def _malformed(self) -> GeneratedMessage:
        rng = self._rng
        doc = self._draft(False).doc
        code, defect = rng.choice(_MALFORMED_KINDS)
        value = _MALFORMERS[defect](doc, rng)
        key = doc["declaration_id"].encode() if rng.random() < 0.85 else b""
        return GeneratedMessage(key, value, "MALFORMED", False, (code, defect))


# --- document helpers -----------------------------------------------------------------------


def _carrier_party(name: str, country: str, code_kind: str, code: str) -> Json:
    return {
        "name": name,
        "ids": [{"scheme": "OTHER", "value": f"{code_kind}:{code}"}],
        "address": {"country": country},
    }


def _stow(goods: list[Json], containers: list[str]) -> None:
    """Spread items over containers so that every container holds something."""
    for index, item in enumerate(goods):
        item["container_ids"] = [containers[index % len(containers)]]
    if len(containers) > len(goods):
        goods[-1]["container_ids"] = containers[len(goods) - 1 :]


def _totals(goods: list[Json]) -> Json:
    return {
        "packages": sum(item["packages"] for item in goods),
        "gross_mass_kg": round(sum(item["gross_mass_kg"] for item in goods), 1),
    }


def _skew_totals(totals: Json, rng: random.Random) -> Json:
    """Totals off by a quarter or more, in mass, packages or both."""
    skewed = dict(totals)
    roll = rng.random()
    if roll < 0.75:
        factor = rng.uniform(1.25, 1.8) if rng.random() < 0.5 else rng.uniform(0.45, 0.75)
        skewed["gross_mass_kg"] = round(totals["gross_mass_kg"] * factor, 1)
    if roll >= 0.6:
        packages = totals["packages"]
        delta = max(2, math.ceil(packages * rng.uniform(0.25, 0.6)))
        skewed["packages"] = (
            packages + delta if rng.random() < 0.5 or packages < 8 else packages - delta
        )
    return skewed


def _break_check_digit(doc: Json, rng: random.Random) -> None:
    """Replace one container's check digit with a wrong one, everywhere it is cited."""
    index = rng.randrange(len(doc["equipment"]))
    good = doc["equipment"][index]["container_id"]
    bad = good[:10] + str((int(good[10]) + rng.randint(1, 9)) % 10)
    doc["equipment"][index] = dict(doc["equipment"][index], container_id=bad)
    doc["goods"] = [
        dict(item, container_ids=[bad if c == good else c for c in item["container_ids"]])
        for item in doc["goods"]
    ]


# --- malformed messages ---------------------------------------------------------------------


def _truncated(doc: Json, rng: random.Random) -> bytes:
    raw = orjson.dumps(doc)
    end = rng.randint(1, len(raw) - 1)
    while raw[end] & 0xC0 == 0x80:  # not inside a UTF-8 sequence: that is another defect
        end -= 1
    return raw[:end]


def _single_quoted(doc: Json, rng: random.Random) -> bytes:
    return orjson.dumps(doc).replace(b'"', b"'")


def _trailing_garbage(doc: Json, rng: random.Random) -> bytes:
    return orjson.dumps(doc) + rng.choice((b"}", b",", b"\x00", b" {}"))


def _array(doc: Json, rng: random.Random) -> bytes:
    return orjson.dumps([doc])


def _scalar(doc: Json, rng: random.Random) -> bytes:
    return rng.choice((orjson.dumps(doc["declaration_id"]), b"42", b"null", b"true", b"[]"))


def _without(name: str) -> Callable[[Json, random.Random], bytes]:
    def build(doc: Json, rng: random.Random) -> bytes:
        return orjson.dumps({k: v for k, v in doc.items() if k != name})

    return build


def _with(path: tuple[str | int, ...], value: Any) -> Callable[[Json, random.Random], bytes]:
    def build(doc: Json, rng: random.Random) -> bytes:
        return orjson.dumps(_set_path(doc, path, value))

    return build


def _set_path(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``doc`` with ``value`` at ``path``; the original is left alone."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, list):
        copy_list = list(doc)
        copy_list[int(head)] = _set_path(copy_list[int(head)], rest, value)
        return copy_list
    copy_dict = dict(doc)
    copy_dict[head] = _set_path(copy_dict[head], rest, value) if rest else value
    return copy_dict


def _bad_id(doc: Json, rng: random.Random) -> bytes:
    bad = rng.choice(
        (
            doc["declaration_id"].replace("-", "/"),
            doc["declaration_id"].replace("-", " "),
            doc["declaration_id"] * 3,
            "",
        )
    )
    return orjson.dumps(dict(doc, declaration_id=bad))


def _legacy_encoding(doc: Json, rng: random.Random) -> bytes:
    """A name written in Windows-1252 instead of UTF-8, as old gateways do."""
    name = rng.choice(reference.vocabulary().legacy_encoded_names)
    text = orjson.dumps(dict(doc, consignor=dict(doc["consignor"], name=name))).decode()
    raw = text.encode("cp1252", errors="replace")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    return raw.replace(b'"name":"', b'"name":"\xff', 1)


def _invalid_bytes(doc: Json, rng: random.Random) -> bytes:
    raw = orjson.dumps(doc)
    return raw.replace(
        b'"description":"',
        b'"description":"' + rng.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80")),
        1,
    )


_MALFORMERS: Final[dict[str, Callable[[Json, random.Random], bytes]]] = {
    "truncated": _truncated,
    "single_quotes": _single_quoted,
    "trailing_garbage": _trailing_garbage,
    "array": _array,
    "scalar": _scalar,
    "missing_declaration_id": _without("declaration_id"),
    "missing_version": _without("version"),
    "missing_message_type": _without("message_type"),
    "missing_submitted_at": _without("submitted_at"),
    "missing_declarant": _without("declarant"),
    "missing_goods": _without("goods"),
    "goods_empty": _with(("goods",), []),
    "version_as_string": _with(("version",), "1"),
    "version_zero": _with(("version",), 0),
    "unknown_message_type": _with(("message_type",), "FILLING"),
    "timestamp_without_zone": _with(("submitted_at",), "2026-11-27T15:04:05"),
    "timestamp_not_a_date": _with(("submitted_at",), "yesterday"),
    "hs_code_letters": _with(("goods", 0, "hs_code"), "8471A0"),
    "hs_code_short": _with(("goods", 0, "hs_code"), "8471"),
    "mass_as_string": _with(("goods", 0, "gross_mass_kg"), "1,234.5"),
    "negative_packages": _with(("totals", "packages"), -5),
    "lowercase_country": _with(("consignee", "address", "country"), "de"),
    "unknown_mode": _with(("transport", "mode"), "SHIP"),
    "bad_declaration_id": _bad_id,
    "legacy_encoding": _legacy_encoding,
    "invalid_utf8": _invalid_bytes,
}

_SCHEMA_DEFECTS: Final = (
    "missing_declaration_id",
    "missing_version",
    "missing_message_type",
    "missing_submitted_at",
    "missing_declarant",
    "missing_goods",
    "goods_empty",
    "version_as_string",
    "version_zero",
    "unknown_message_type",
    "timestamp_without_zone",
    "timestamp_not_a_date",
    "hs_code_letters",
    "hs_code_short",
    "mass_as_string",
    "negative_packages",
    "lowercase_country",
    "unknown_mode",
    "bad_declaration_id",
)
# (rejection code, defect); repeats make the commoner defects likelier.
_MALFORMED_KINDS: Final[tuple[tuple[str, str], ...]] = (
    ("INVALID_JSON", "truncated"),
    ("INVALID_JSON", "truncated"),
    ("INVALID_JSON", "single_quotes"),
    ("INVALID_JSON", "trailing_garbage"),
    ("NOT_AN_OBJECT", "array"),
    ("NOT_AN_OBJECT", "scalar"),
    *(("SCHEMA", defect) for defect in _SCHEMA_DEFECTS),
    ("ENCODING", "legacy_encoding"),
    ("ENCODING", "invalid_utf8"),
)
