"""JSON Schema (draft 2020-12) documents of the public contract, generated from the structs.

``pipeline.contract.models`` is the source of truth. The schemas are generated from it with
msgspec, then completed with what a msgspec type cannot say: the cross-field rules of the
contract (a FILING or AMENDMENT needs its parties and 1-999 goods items; an INVALIDATED
assessment has no matches) and the timestamp format of the outputs. The generated documents
are shipped under ``pipeline/contract/schemas/`` for integrators; a unit test keeps the
shipped files equal to freshly generated ones.

Regenerate them with ``python -m pipeline.contract.schemas`` (``--check`` only compares).
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from pipeline.contract.models import (
    MAX_GOODS_ITEMS,
    AeoRecord,
    Assessment,
    Declaration,
    ExaminationResult,
    Hit,
    Notice,
    PartnerMessage,
    ReferralResponse,
    Rejection,
    WatchlistEntry,
)

Schema = dict[str, Any]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://schemas.customs-screening.org/v1/"
SCHEMA_DIRECTORY = Path(__file__).with_name("schemas")
_REF_TEMPLATE = "#/$defs/{name}"
_FILINGS = ["FILING", "AMENDMENT"]
_PARTIES_REQUIRED_FOR_FILINGS = ("declarant", "consignor", "consignee")


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str  # the file stem, e.g. "declaration"
    struct: type[msgspec.Struct]
    title: str
    description: str
    complete: Callable[[Schema], None] | None = None


# --- what msgspec cannot express ------------------------------------------------------------


def _timestamps(schema: Schema, *fields: str) -> None:
    """Outputs carry RFC 3339 timestamps; their structs hold plain datetimes."""
    for field_name in fields:
        schema["properties"][field_name]["format"] = "date-time"


def _complete_declaration(schema: Schema) -> None:
    goods = schema["properties"]["goods"]
    array = next(option for option in goods["anyOf"] if option.get("type") == "array")
    # The struct allows one item more, so that decode can say precisely what is wrong.
    array["maxItems"] = MAX_GOODS_ITEMS
    goods["description"] = (
        f"required, 1-{MAX_GOODS_ITEMS} items, for FILING and AMENDMENT; "
        "an INVALIDATION may leave it out"
    )
    for role in _PARTIES_REQUIRED_FOR_FILINGS:
        schema["properties"][role]["description"] = "required for FILING and AMENDMENT"
    then: Schema = {
        "required": [*_PARTIES_REQUIRED_FOR_FILINGS, "goods"],
        "properties": {
            **{
                role: {"$ref": _REF_TEMPLATE.format(name="Party")}
                for role in _PARTIES_REQUIRED_FOR_FILINGS
            },
            "goods": {"type": "array", "minItems": 1, "maxItems": MAX_GOODS_ITEMS},
        },
    }
    schema["allOf"] = [
        {
            "if": {
                "properties": {"message_type": {"enum": _FILINGS}},
                "required": ["message_type"],
            },
            "then": then,
        }
    ]
    schema["properties"]["message_type"]["description"] = (
        "an INVALIDATION needs only declaration_id, version, message_type and submitted_at"
    )
    schema["properties"]["version"]["description"] = "a higher version supersedes a lower one"
    # Version 1.1's optional fields.
    schema["properties"]["filer_id"]["description"] = (
        "version 1.1: the EORI or filer code of whoever sent the message; notices to filers are "
        "keyed by it, and when it is absent the declarant's first id value stands in"
    )
    schema["properties"]["ucr"]["description"] = (
        "version 1.1: WCO Unique Consignment Reference (ISO 15459 based)"
    )
    schema["properties"]["place_of_receipt"]["description"] = (
        "version 1.1: UN/LOCODE where the carrier took the goods in charge"
    )
    definitions = schema["$defs"]
    definitions["Transport"]["properties"]["vessel"]["description"] = "version 1.1: sea only"
    definitions["TransportDocument"]["properties"]["master_number"]["description"] = (
        "version 1.1: for a house document (HAWB, HBL), its master document's number"
    )


def _complete_assessment(schema: Schema) -> None:
    _timestamps(schema, "submitted_at", "assessed_at")
    properties = schema["properties"]
    properties["outcome"]["description"] = (
        "ASSESSMENT_COMPLETE, RFI, HRCM, DNL in that order of severity; "
        "INVALIDATED for an invalidation"
    )
    properties["shadow_matches"]["description"] = (
        "matches of rules in shadow mode; they never change the outcome"
    )
    properties["superseded_by"]["description"] = (
        "set when a newer version had already been assessed: this one is kept for audit and "
        "raises no hit"
    )
    schema["allOf"] = [
        {
            "if": {"properties": {"outcome": {"const": "INVALIDATED"}}, "required": ["outcome"]},
            "then": {"properties": {"matches": {"maxItems": 0}, "shadow_matches": {"maxItems": 0}}},
        }
    ]


def _complete_hit(schema: Schema) -> None:
    _timestamps(schema, "submitted_at", "assessed_at")
    schema["properties"]["priority"].update(minimum=1, description="1 is the highest")
    schema["properties"]["summary"]["description"] = "one line, read first"
    # The struct holds the raw bytes (msgspec.Raw, "any JSON"); they are a declaration that
    # was decoded against the contract, so the hit says so with the Declaration schema.
    _embed(schema, "declaration")
    schema["properties"]["declaration"] = {
        "$ref": _REF_TEMPLATE.format(name=Declaration.__name__),
        "description": (
            "the declaration exactly as received, unknown fields included; absent from hits "
            "published before it was added"
        ),
    }


def _embed(schema: Schema, name: str) -> None:
    """Put the complete schema ``name`` (with its cross-field rules) into ``schema``'s $defs,
    under its struct's name, beside the definitions it refers to."""
    embedded = generate(name)
    definitions = embedded.pop("$defs", {})
    for key in ("$schema", "$id"):  # an $id would make its $refs resolve against its own file
        del embedded[key]
    definitions[_spec(name).struct.__name__] = embedded
    held = schema.setdefault("$defs", {})
    for def_name, definition in definitions.items():
        if held.setdefault(def_name, definition) != definition:
            raise ValueError(f"two different definitions named {def_name}")


def _complete_rejection(schema: Schema) -> None:
    _timestamps(schema, "received_at")
    original = schema["properties"]["original"]
    original.update(contentEncoding="base64", description="the raw bytes of the message")
    schema["properties"]["key"]["description"] = "the original record key, when it was UTF-8"
    error = schema["$defs"]["RejectionError"]["properties"]
    error["path"]["description"] = "JSON path of the offending field, if any"


def _complete_notice(schema: Schema) -> None:
    _timestamps(schema, "issued_at")
    properties = schema["properties"]
    properties["declaration_id"]["description"] = (
        "null only in a REJECTED notice whose message has no usable declaration_id"
    )
    properties["version"]["description"] = (
        "the declaration version the notice is about; in REFERRAL_CLOSED the version whose "
        "referral is withdrawn; in REJECTED the message's version, 0 when it has none"
    )
    properties["notice_id"]["description"] = (
        "the same for the same declaration version and kind (REJECTED: the same message): "
        "a notice sent again after a restart has the notice_id of the first"
    )
    properties["text"]["description"] = (
        "plain words for the carrier: what to do and by when; never why the cargo was selected"
    )
    properties["errors"]["description"] = "REJECTED only: every error, by JSON path"
    rejected = {"properties": {"kind": {"const": "REJECTED"}}, "required": ["kind"]}
    schema["allOf"] = [
        {
            "if": rejected,
            "then": {"required": ["errors"]},
            "else": {"not": {"required": ["errors"]}},
        }
    ]


def _complete_referral_response(schema: Schema) -> None:
    _timestamps(schema, "submitted_at")
    properties = schema["properties"]
    properties["method"]["description"] = "SCREENING_RESULT only: the screening method used"
    properties["result"]["description"] = "SCREENING_RESULT only: CLEARED or NOT_CLEARED"
    screening = {"properties": {"kind": {"const": "SCREENING_RESULT"}}, "required": ["kind"]}
    schema["allOf"] = [{"if": screening, "then": {"required": ["method", "result"]}}]


def _complete_partner_message(schema: Schema) -> None:
    _timestamps(schema, "sent_at")
    properties = schema["properties"]
    properties["message_id"]["description"] = (
        "the same for the same declaration version, partner and kind: a message sent again "
        "has the message_id of the first"
    )
    properties["to_administration"]["description"] = "ISO 3166-1 alpha-2"
    properties["declaration_ref"]["description"] = "the sending administration's declaration id"
    properties["handling"]["description"] = "who may see it, as the sharing agreement says"
    properties["level"]["description"] = "required for RISK_FINDING"
    properties["result"]["description"] = "EXAMINATION_RESULT only: what the examination found"
    properties["in_reply_to"]["description"] = "the message_id this message answers, if any"
    for name in ("transport_document_number", "container_ids", "summary"):
        properties[name]["description"] = "present only when the sharing agreement allows it"
    finding = {"properties": {"kind": {"const": "RISK_FINDING"}}, "required": ["kind"]}
    result = {"properties": {"kind": {"const": "EXAMINATION_RESULT"}}, "required": ["kind"]}
    schema["allOf"] = [
        {
            "if": finding,
            "then": {
                "required": ["level", "categories"],
                "properties": {"categories": {"minItems": 1}},
            },
        },
        {
            "if": result,
            "then": {"required": ["result"]},
            "else": {"not": {"required": ["result"]}},
        },
    ]


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "declaration",
        Declaration,
        "Declaration",
        "A pre-loading filing, an amendment or an invalidation, keyed by declaration_id on "
        "customs.declarations.v1. Unknown fields are kept and ignored.",
        _complete_declaration,
    ),
    _Spec(
        "assessment",
        Assessment,
        "Assessment",
        "The outcome of screening one declaration version, always one per version, on "
        "customs.assessments.v1.",
        _complete_assessment,
    ),
    _Spec(
        "hit",
        Hit,
        "Hit",
        "A declaration version whose outcome is a referral (RFI, HRCM or DNL), for targeting "
        "officers, on customs.targeting.hits.v1. A null value (tombstone) closes the referral.",
        _complete_hit,
    ),
    _Spec(
        "rejection",
        Rejection,
        "Rejection",
        "A message that was not screened, with the reason, on customs.declarations.dlq.v1.",
        _complete_rejection,
    ),
    _Spec(
        "notice",
        Notice,
        "Notice",
        "What a filer is told about a declaration version, keyed by filer_id on "
        "customs.filer.notices.v1 (version 1.1): what to do and by when, never why.",
        _complete_notice,
    ),
    _Spec(
        "referral_response",
        ReferralResponse,
        "ReferralResponse",
        "A filer's answer to a referral, keyed by declaration_id on "
        "customs.referral.responses.v1 (version 1.1): an RFI answer, a screening result with "
        "its method and result, or a DNL acknowledgement. The workbench checks it against the "
        "open referral; one it refuses goes to customs.referral.responses.dlq.v1 and its "
        "filer gets a REJECTED notice.",
        _complete_referral_response,
    ),
    _Spec(
        "aeo_record",
        AeoRecord,
        "AeoRecord",
        "An authorised economic operator, keyed by operator_id on customs.aeo.registry.v1; "
        "a null value deletes it.",
    ),
    _Spec(
        "watchlist_entry",
        WatchlistEntry,
        "WatchlistEntry",
        "A watchlist entry, keyed by entry_id on customs.watchlist.v1; a null value deletes it.",
    ),
    _Spec(
        "examination_result",
        ExaminationResult,
        "ExaminationResult",
        "The result of a physical examination, keyed by declaration_id on "
        "customs.examination.results.v1.",
    ),
    _Spec(
        "partner_message",
        PartnerMessage,
        "PartnerMessage",
        "A risk finding, an examination request or an examination result for a partner "
        "administration (version 1.1), keyed by ucr or else declaration_ref on "
        "customs.c2c.outbound.v1; a partner's arrive as <partner alias>.customs.c2c.outbound.v1. "
        "What may leave is set per sharing agreement; rule ids, scores and officers' notes "
        "never do.",
        _complete_partner_message,
    ),
)

NAMES: tuple[str, ...] = tuple(spec.name for spec in _SPECS)


def _spec(name: str) -> _Spec:
    stem = name.removesuffix(".json")
    for spec in _SPECS:
        if spec.name == stem:
            return spec
    raise KeyError(f"no schema named {name!r}; known: {', '.join(NAMES)}")


# --- generation -----------------------------------------------------------------------------


def generate(name: str) -> Schema:
    """The JSON Schema document for ``name`` (a file stem such as ``declaration``)."""
    spec = _spec(name)
    (_,), components = msgspec.json.schema_components([spec.struct], ref_template=_REF_TEMPLATE)
    components = copy.deepcopy(components)
    own = spec.struct.__name__
    root: Schema = components[own]
    own_ref = _REF_TEMPLATE.format(name=own)
    if json.dumps(own_ref) not in json.dumps(components):
        del components[own]  # the root itself; kept in $defs only if something refers to it
    schema: Schema = {
        **root,
        "$schema": DRAFT,
        "$id": f"{BASE_URI}{spec.name}.json",
        "title": spec.title,
        "description": spec.description,
    }
    if components:
        schema["$defs"] = components
    if spec.complete is not None:
        spec.complete(schema)
    return schema


def generate_all() -> dict[str, Schema]:
    return {name: generate(name) for name in NAMES}


def render(schema: Schema) -> str:
    """The shipped text: pretty-printed, sorted keys, one newline at the end."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_schema(name: str) -> Schema:
    """The shipped schema document for ``name`` (``declaration`` or ``declaration.json``)."""
    spec = _spec(name)
    shipped = resources.files("pipeline.contract").joinpath("schemas", f"{spec.name}.json")
    document: Schema = json.loads(shipped.read_text(encoding="utf-8"))
    return document


def export(directory: str | Path = SCHEMA_DIRECTORY) -> list[Path]:
    """Write every schema into ``directory`` (created if needed); return the paths written."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, schema in generate_all().items():
        path = target / f"{name}.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def stale(directory: str | Path = SCHEMA_DIRECTORY) -> list[str]:
    """Names whose file in ``directory`` is missing or differs from the generated schema."""
    target = Path(directory)
    out_of_date: list[str] = []
    for name, schema in generate_all().items():
        path = target / f"{name}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(schema):
            out_of_date.append(name)
    return out_of_date


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.contract.schemas",
        description="Generate the contract's JSON Schema files from the msgspec structs.",
    )
    parser.add_argument(
        "directory", nargs="?", type=Path, default=SCHEMA_DIRECTORY, help="where to write them"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is out of date"
    )
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale(args.directory)
        for name in out_of_date:
            print(f"{args.directory / (name + '.json')} is out of date")
        return 1 if out_of_date else 0
    for path in export(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
