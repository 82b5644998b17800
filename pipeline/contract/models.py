"""The public contract, version 1, as typed structures.

These structs are the single source of truth for the wire format: decoding validates against
them, the pipeline encodes its outputs from them, and the JSON Schema files shipped in
``pipeline/contract/schemas`` are generated from them (``python -m pipeline.contract.schemas``).
Field names and enumerations follow ``contract.md`` exactly; anything the contract leaves open
is documented where it is declared.
"""

from __future__ import annotations

import builtins
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "MAX_GOODS_ITEMS",
    "Action",
    "Address",
    "AeoRecord",
    "Assessment",
    "Declaration",
    "Equipment",
    "ExaminationOutcome",
    "ExaminationResult",
    "Hit",
    "Match",
    "Notice",
    "NoticeError",
    "NoticeKind",
    "Outcome",
    "PartnerLevel",
    "PartnerMessage",
    "PartnerMessageKind",
    "Party",
    "PartyId",
    "PartyRole",
    "PartyStatus",
    "Referral",
    "ReferralResponse",
    "Rejection",
    "RejectionCode",
    "RejectionError",
    "RejectionSource",
    "Transport",
    "TransportDocument",
    "WatchlistEntry",
    "WatchlistId",
    "WatchlistIdScheme",
]

# --- shared field types -------------------------------------------------------------------

# Python's ``$`` also matches before a final newline; ``(?!\n)`` makes each pattern match
# exactly as JSON Schema's does, so "IR\n" is not a country code.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 timestamp with zone")]
DeclarationId = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$(?!\n)", description="stable across versions")
]
Version = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
Mass = Annotated[float, msgspec.Meta(ge=0, le=1e9)]
Country = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z]{2}$(?!\n)", description="ISO 3166-1 alpha-2")
]
Locode = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$(?!\n)", description="UN/LOCODE")
]
HsCode = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9]{6,10}$(?!\n)", description="HS code, 6-10 digits")
]
# Free text is bounded so that one message cannot make the worker build huge strings.
Text = Annotated[str, msgspec.Meta(max_length=4096)]
ShortText = Annotated[str, msgspec.Meta(max_length=512)]
ImoNumber = Annotated[
    str,
    msgspec.Meta(
        max_length=32,
        description="IMO ship number as filed, 7 digits; a wrong check digit is not a rejection",
    ),
]

MessageType = Literal["FILING", "AMENDMENT", "INVALIDATION"]
TransportMode = Literal["AIR", "SEA", "ROAD", "RAIL"]
DocumentType = Literal["MAWB", "HAWB", "MBL", "HBL"]
IdScheme = Literal["EORI", "AEO", "CTPAT", "TIN", "OTHER"]
# Version 1.1: a watch-list entry may also name a vessel by its IMO ship number.
WatchlistIdScheme = Literal["EORI", "AEO", "CTPAT", "TIN", "OTHER", "IMO"]
Action = Literal["SCORE", "RFI", "HRCM", "DNL"]
Outcome = Literal["ASSESSMENT_COMPLETE", "RFI", "HRCM", "DNL", "INVALIDATED"]
Referral = Literal["RFI", "HRCM", "DNL"]
RejectionCode = Literal["INVALID_JSON", "NOT_AN_OBJECT", "SCHEMA", "TOO_LARGE", "ENCODING"]
NoticeKind = Literal["ASSESSMENT_COMPLETE", "RFI", "HRCM", "DNL", "REJECTED", "REFERRAL_CLOSED"]
PartyRole = Literal["declarant", "consignor", "consignee", "carrier", "notify_party"]

MAX_GOODS_ITEMS = 999

# --- Declaration --------------------------------------------------------------------------


# An identifier of a watch-list entry: a party's, or a vessel's (``IMO``). No docstring: a
# party's id (below) would inherit it into the declaration's schema.
class WatchlistId(msgspec.Struct, forbid_unknown_fields=False):
    scheme: WatchlistIdScheme
    value: ShortText


class PartyId(WatchlistId, forbid_unknown_fields=False):
    scheme: IdScheme
    value: ShortText


class Address(msgspec.Struct, forbid_unknown_fields=False):
    street: Text | None = None
    city: ShortText | None = None
    postcode: ShortText | None = None
    country: Country | None = None
    po_box: bool | None = None


class Contact(msgspec.Struct, forbid_unknown_fields=False):
    phone: ShortText | None = None
    email: ShortText | None = None


class Party(msgspec.Struct, forbid_unknown_fields=False):
    name: ShortText
    ids: Annotated[list[PartyId], msgspec.Meta(max_length=64)] = []
    address: Address | None = None
    contact: Contact | None = None


class Transport(msgspec.Struct, forbid_unknown_fields=False):
    mode: TransportMode | None = None
    carrier: Party | None = None
    conveyance_ref: ShortText | None = None
    loading_location: Locode | None = None
    discharge_location: Locode | None = None
    routing_countries: Annotated[list[Country], msgspec.Meta(max_length=64)] = []
    estimated_loading_at: Timestamp | None = None
    estimated_arrival_at: Timestamp | None = None
    # Version 1.1: sea only.
    vessel: Vessel | None = None
    # Not in the contract: read when a filer sends it (ICS2 and AMS manifests carry a departure
    # time), so that the late-filing rules can use it when the loading time is missing.
    estimated_departure_at: Timestamp | None = None


class Vessel(msgspec.Struct, forbid_unknown_fields=False):
    """The ship (version 1.1), as filed."""

    name: ShortText | None = None
    # Kept as filed, like a container number: a wrong check digit is a finding for the rules,
    # not a rejection; bounded so that a hostile message cannot make it large.
    imo: ImoNumber | None = None
    flag: Country | None = None


class TransportDocument(msgspec.Struct, forbid_unknown_fields=False):
    type: DocumentType | None = None
    number: ShortText | None = None
    # Version 1.1: for a house document (HAWB, HBL), its master document's number.
    master_number: ShortText | None = None


class Equipment(msgspec.Struct, forbid_unknown_fields=False):
    # Kept as filed: a wrong check digit is a finding for the rules, not a rejection.
    container_id: ShortText
    seals: Annotated[list[ShortText], msgspec.Meta(max_length=64)] = []


class Money(msgspec.Struct, forbid_unknown_fields=False):
    amount: Annotated[float, msgspec.Meta(ge=0, le=1e15)]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$(?!\n)", description="ISO 4217")]


class GoodsItem(msgspec.Struct, forbid_unknown_fields=False):
    seq: Count | None = None
    hs_code: HsCode | None = None
    description: Text | None = None
    packages: Count | None = None
    package_type: ShortText | None = None
    gross_mass_kg: Mass | None = None
    origin_country: Country | None = None
    un_number: Annotated[str, msgspec.Meta(pattern=r"^UN[0-9]{4}$(?!\n)")] | None = None
    container_ids: Annotated[list[ShortText], msgspec.Meta(max_length=999)] = []
    value: Money | None = None


class Totals(msgspec.Struct, forbid_unknown_fields=False):
    packages: Count | None = None
    gross_mass_kg: Mass | None = None


class Declaration(msgspec.Struct, forbid_unknown_fields=False):
    """A pre-loading filing, an amendment or an invalidation.

    ``declarant``, ``consignor``, ``consignee`` and ``goods`` are required for FILING and
    AMENDMENT; that cross-field rule is checked by ``pipeline.screening.decode``.
    """

    declaration_id: DeclarationId
    version: Version
    message_type: MessageType
    submitted_at: Timestamp
    declarant: Party | None = None
    transport: Transport | None = None
    transport_document: TransportDocument | None = None
    consignor: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    equipment: Annotated[list[Equipment], msgspec.Meta(max_length=999)] = []
    # The upper bound keeps a hostile message from allocating without limit; the contract's
    # 1-999 is checked with a precise message in decode.
    goods: Annotated[list[GoodsItem], msgspec.Meta(max_length=MAX_GOODS_ITEMS + 1)] | None = None
    totals: Totals | None = None
    # Version 1.1 (optional): who sent the message (ICS2's sender); notices to filers are keyed
    # by it, and when it is absent the declarant's first id value stands in.
    filer_id: ShortText | None = None
    ucr: ShortText | None = None  # WCO Unique Consignment Reference
    place_of_receipt: Locode | None = None  # where the carrier took the goods in charge


# --- outputs ------------------------------------------------------------------------------


class Match(msgspec.Struct, omit_defaults=False):
    rule_id: str
    rule_version: int
    action: Action
    score: float
    reason: str
    evidence: dict[str, Any]


class PartyStatus(msgspec.Struct):
    role: PartyRole
    operator_id: str | None
    aeo_type: str | None
    status: str
    source: str | None


class Assessment(msgspec.Struct):
    declaration_id: str
    version: int
    outcome: Outcome
    score: float
    matches: list[Match]
    shadow_matches: list[Match]
    parties: list[PartyStatus]
    ruleset_version: str
    submitted_at: datetime
    assessed_at: datetime
    superseded_versions: list[int]
    # Not in the contract's list, allowed by it: set when a newer version of the same
    # declaration had already been assessed, so this one is kept for audit and raises no hit.
    superseded_by: int | None = None
    message_type: MessageType = "FILING"


class Hit(msgspec.Struct):
    declaration_id: str
    version: int
    outcome: Referral
    score: float
    matches: list[Match]
    shadow_matches: list[Match]
    parties: list[PartyStatus]
    ruleset_version: str
    submitted_at: datetime
    assessed_at: datetime
    superseded_versions: list[int]
    priority: int
    summary: str
    message_type: MessageType = "FILING"
    # Not in the contract's list, allowed by it: the declaration exactly as received (the JSON
    # object of the input record, embedded as it came, never decoded and encoded again), so
    # that officers' tools have the whole filing with the hit. UNSET, and left out, only in
    # hits published before it was added.
    declaration: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


class RejectionError(msgspec.Struct):
    code: RejectionCode
    message: str
    path: str | None


class RejectionSource(msgspec.Struct):
    topic: str
    partition: int
    offset: int


class Rejection(msgspec.Struct):
    error: RejectionError
    source: RejectionSource
    received_at: datetime
    original: str  # base64 of the raw bytes, so that nothing is lost even when not UTF-8
    key: str | None = None  # the original key as text, when it was UTF-8


class NoticeError(msgspec.Struct):
    path: str  # JSON path of the field, "$" for the message as a whole
    message: str  # plain words, e.g. "must be 6 to 10 digits"


class Notice(msgspec.Struct):
    """What a filer is told about one declaration version (version 1.1), keyed by ``filer_id``
    on customs.filer.notices.v1: what to do and by when, never why (no tipping-off)."""

    filer_id: str
    # Null only in a REJECTED notice whose message has no usable declaration_id.
    declaration_id: str | None
    # In a REJECTED notice, 0 when the message has no usable version; in REFERRAL_CLOSED, the
    # version whose referral is withdrawn.
    version: int
    kind: NoticeKind
    # The same for the same declaration version and kind (for REJECTED: the same message), so
    # that a notice sent again after a restart is recognised: deduplicate by it.
    notice_id: str
    issued_at: datetime
    text: str
    errors: list[NoticeError] | msgspec.UnsetType = msgspec.UNSET  # REJECTED only


# --- reference data -----------------------------------------------------------------------


class AeoRecord(msgspec.Struct, forbid_unknown_fields=False):
    operator_id: ShortText
    scheme: Literal["EORI", "AEO", "CTPAT", "TIN"]
    name: ShortText
    country: Country
    aeo_type: ShortText
    status: Literal["ACTIVE", "SUSPENDED", "REVOKED"]
    valid_from: date | None = None
    valid_to: date | None = None
    mra_partner: Country | None = None


class WatchlistEntry(msgspec.Struct, forbid_unknown_fields=False):
    # The contract names a field ``list``; inside this class that name hides the builtin.
    entry_id: ShortText
    name: ShortText
    aliases: builtins.list[ShortText] = []
    country: Country | None = None
    ids: builtins.list[WatchlistId] = []
    list: ShortText = "NATIONAL"
    action: Referral = "HRCM"
    reason: Text = ""


class ExaminationResult(msgspec.Struct, forbid_unknown_fields=False):
    declaration_id: DeclarationId
    version: Version
    result: Literal["SEIZURE", "IRREGULARITY", "NO_FINDING", "NOT_EXAMINED"]
    examined_at: Timestamp
    officer_ref: ShortText | None = None


# --- the filers' side (contract v1.1) -----------------------------------------------------

ResponseKind = Literal["RFI_ANSWER", "SCREENING_RESULT", "DNL_ACKNOWLEDGEMENT"]
ScreeningMethod = Literal["XRAY", "EDS", "ETD", "EDD", "PHYSICAL"]


class ReferralResponse(msgspec.Struct, forbid_unknown_fields=False):
    """A filer's answer to a referral: ``method`` and ``result`` belong to a screening result
    (checked by the workbench, which knows the referral it answers)."""

    declaration_id: DeclarationId
    version: Version
    filer_id: ShortText
    kind: ResponseKind
    submitted_at: Timestamp
    text: Text = ""
    method: ScreeningMethod | None = None
    result: Literal["CLEARED", "NOT_CLEARED"] | None = None


# --- Customs-to-Customs (contract v1.1) ---------------------------------------------------

PartnerMessageKind = Literal["RISK_FINDING", "EXAMINATION_REQUEST", "EXAMINATION_RESULT"]
PartnerLevel = Literal["HIGH", "MEDIUM"]
ExaminationOutcome = Literal["SEIZURE", "IRREGULARITY", "NO_FINDING", "NOT_EXAMINED"]
# The contract lists categories by example (SECURITY, SANCTIONS, IPR, DRUGS): a partner may
# send others, so any upper-case word is read; what we send is bounded by each agreement.
PartnerCategory = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z][A-Z_]{1,31}$(?!\n)", description="e.g. SECURITY")
]


class PartnerMessage(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """A finding, a request or a result exchanged with a partner administration (version 1.1),
    on customs.c2c.outbound.v1, keyed by ``ucr`` or else ``declaration_ref``.

    The optional fields are left out unless the sharing agreement allows them: a field the
    partner may not see is absent, not empty. Rule ids, scores and officers' notes never leave.
    """

    message_id: ShortText
    kind: PartnerMessageKind
    from_administration: Country
    to_administration: Country
    # The sender's declaration id: a partner's ids need not follow our pattern.
    declaration_ref: ShortText
    handling: ShortText  # who may see it on the partner's side, e.g. C2C-RESTRICTED
    sent_at: Timestamp
    ucr: ShortText | None = None
    transport_document_number: ShortText | None = None
    container_ids: Annotated[list[ShortText], msgspec.Meta(max_length=999)] | None = None
    level: PartnerLevel | None = None  # required for RISK_FINDING
    categories: Annotated[list[PartnerCategory], msgspec.Meta(max_length=16)] = []
    summary: Text | None = None
    # Not in the contract's list, allowed by it: what an EXAMINATION_RESULT found, and the
    # message_id a message answers (a result answers a request, a request a finding).
    result: ExaminationOutcome | None = None
    in_reply_to: ShortText | None = None
