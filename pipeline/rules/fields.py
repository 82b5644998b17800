"""The fields and facts a condition may test, per scope, with their kinds.

One catalogue serves the loader (unknown fields are refused), the frame builder (which columns
to make) and the evidence (each field's path in the declaration).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pipeline.contract.models import PartyRole


class Scope(Enum):
    DECLARATION = "declaration"
    GOODS = "goods"
    PARTY = "party"
    CONTAINER = "container"


class Kind(Enum):
    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    TEXT_LIST = "text list"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind


def _fields(kind: Kind, *names: str) -> dict[str, Field]:
    return {name: Field(name, kind) for name in names}


FIELDS: dict[Scope, dict[str, Field]] = {
    Scope.DECLARATION: {
        **_fields(
            Kind.TEXT,
            "declaration_id",
            "message_type",
            "transport.mode",
            "transport.conveyance_ref",
            "transport.loading_location",
            "transport.discharge_location",
            "transport_document.type",
            "transport_document.number",
            "loading_country",
            "discharge_country",
            # Version 1.1: the vessel as filed, and its watch-list finding by IMO number.
            "transport.vessel.name",
            "transport.vessel.imo",
            "transport.vessel.flag",
            "transport.vessel.watchlist_action",
            "transport.vessel.watchlist_list",
            "transport.vessel.watchlist_entry",
            # Which time the late-filing facts start from (see ``frames.best_loading_time``).
            "loading_time_basis",
            # Version 1.1: a house filing's master, and the other houses of that master.
            "transport_document.master_number",
            "master_referral_outcome",
            "master_referred_declarations",
            # Version 1.1: a partner administration's risk finding on the consignment
            # (pipeline/reference/partner_findings.py): HIGH or MEDIUM, the partner's country,
            # and UCR, CONTAINER or TRANSPORT_DOCUMENT.
            "partner_finding_level",
            "partner_finding_partner",
            "partner_finding_matched_by",
        ),
        **_fields(
            Kind.NUMBER,
            "version",
            "totals.packages",
            "totals.gross_mass_kg",
            "hours_before_loading",
            "goods_count",
            "goods_mass_kg",
            "goods_packages",
            "mass_discrepancy",
            "packages_discrepancy",
            "container_count",
            "usual_sailing_hours",
            "hours_loading_to_arrival",
            "master_house_count",
        ),
        **_fields(Kind.TEXT_LIST, "transport.routing_countries", "partner_finding_categories"),
        **_fields(
            Kind.TIME,
            "submitted_at",
            "transport.estimated_loading_at",
            "transport.estimated_arrival_at",
            "transport.estimated_departure_at",
            "best_loading_at",
        ),
        # Whether the IMO number's check digit is right; none when no IMO number is filed.
        **_fields(Kind.BOOL, "transport.vessel.imo_valid"),
    },
    Scope.GOODS: {
        **_fields(
            Kind.TEXT,
            "hs_code",
            "hs_chapter",
            "hs_heading",
            "description",
            "package_type",
            "origin_country",
            "un_number",
            "value_currency",
        ),
        **_fields(
            Kind.NUMBER, "seq", "packages", "gross_mass_kg", "value_amount", "mass_per_package_kg"
        ),
    },
    Scope.PARTY: {
        **_fields(
            Kind.TEXT,
            "role",
            "name",
            "street",
            "city",
            "postcode",
            "country",
            "aeo_status",
            "aeo_type",
            "watchlist_action",
            "watchlist_list",
            "watchlist_entry",
            "watchlist_match",
        ),
        **_fields(Kind.BOOL, "po_box", "aeo_claimed", "aeo_security"),
        **_fields(Kind.NUMBER, "watchlist_score"),
    },
    Scope.CONTAINER: {
        **_fields(Kind.TEXT, "container_id"),
        **_fields(Kind.BOOL, "check_digit_valid"),
        **_fields(Kind.NUMBER, "seal_count"),
    },
}

# Whole numbers: kept as integers so that evidence shows 40, not 40.0.
INTEGER_FIELDS = frozenset(
    {
        "version",
        "totals.packages",
        "goods_count",
        "goods_packages",
        "container_count",
        "seq",
        "packages",
        "seal_count",
    }
)

# Declaration facts from partners' findings: asked for only when a rule reads one of them.
PARTNER_FINDING_FACTS = (
    "partner_finding_level",
    "partner_finding_partner",
    "partner_finding_matched_by",
    "partner_finding_categories",
)

# Party facts that come from reference data rather than from the declaration.
REFERENCE_PARTY_FACTS = (
    "aeo_status",
    "aeo_type",
    "aeo_security",
    "watchlist_action",
    "watchlist_list",
    "watchlist_entry",
    "watchlist_match",
    "watchlist_score",
)

# Where each party field lives in the declaration, for evidence paths.
PARTY_FIELD_PATHS = {
    "name": "name",
    "street": "address.street",
    "city": "address.city",
    "postcode": "address.postcode",
    "country": "address.country",
    "po_box": "address.po_box",
}

PARTY_ROLES: tuple[PartyRole, ...] = (
    "declarant",
    "consignor",
    "consignee",
    "carrier",
    "notify_party",
)
