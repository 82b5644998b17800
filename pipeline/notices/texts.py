"""The words of every notice to a filer: what to do and by when, never why.

No text takes anything from an assessment but its outcome: not a rule, a reason, a score, a
watch-list entry or list, nor any evidence. What it names comes from the filer's own filing
(the declaration id and version, the declared loading time, the port of discharge). Plain
f-strings: a notice is built for every declaration screened.
"""

from __future__ import annotations

from datetime import UTC, datetime

# The approved screening methods of the EU aviation security rules, as a filer reports them in
# a SCREENING_RESULT response (its `method`: XRAY, EDS, ETD, EDD, PHYSICAL).
SCREENING_METHODS = (
    "X-ray (XRAY), an explosive detection system (EDS), explosive trace detection (ETD), "
    "explosive detection dogs (EDD) or a physical search (PHYSICAL)"
)

# What a withdrawn referral was, in the filer's words.
_REQUESTS = {
    "RFI": "The request for information",
    "HRCM": "The request to screen the consignment",
    "DNL": "The instruction not to load the consignment",
}


def when(moment: datetime) -> str:
    """A moment as a filer reads it: 2026-11-23 08:00 UTC."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def deadline(loading_at: datetime | None, issued_at: datetime) -> str:
    """By when: before the declared loading, or as soon as possible when there is none or it
    has passed."""
    if loading_at is None:
        return "as soon as possible, and before the consignment is loaded"
    if loading_at > issued_at:
        return f"before loading, which you declared for {when(loading_at)}"
    return f"as soon as possible: the loading time you declared, {when(loading_at)}, has passed"


def assessment_complete(declaration_id: str, version: int) -> str:
    return (
        f"Assessment complete for declaration {declaration_id} version {version}: the "
        "consignment may be loaded. No further action is needed for this version."
    )


def rfi(declaration_id: str, version: int, loading_at: datetime | None, issued_at: datetime) -> str:
    return (
        f"Customs needs more information on declaration {declaration_id} version {version} "
        "before the consignment may be loaded. Send the information customs asks for by "
        f"amending the filing (version {version + 1} of declaration {declaration_id}, every "
        f"field complete and correct), {deadline(loading_at, issued_at)}. If a customs "
        "officer asks you a question about it, answer with an RFI_ANSWER response. Do not "
        "load the consignment until customs tells you that it may be loaded."
    )


def hrcm(
    declaration_id: str, version: int, loading_at: datetime | None, issued_at: datetime
) -> str:
    return (
        f"Have the consignment of declaration {declaration_id} version {version} screened "
        f"before loading with an approved method: {SCREENING_METHODS}. Do it "
        f"{deadline(loading_at, issued_at)}, then report the method and the result with a "
        "SCREENING_RESULT response for this declaration version. Do not load the consignment "
        "until it has been screened and customs tells you that it may be loaded."
    )


def dnl(declaration_id: str, version: int, discharge_location: str | None) -> str:
    office = (
        f"the targeting centre of the customs office at {discharge_location}"
        if discharge_location
        else "the customs targeting centre"
    )
    return (
        f"Do not load the consignment of declaration {declaration_id} version {version}. "
        f"Hold it where it is and contact {office}, quoting declaration {declaration_id} "
        f"version {version}. Acknowledge this notice with a DNL_ACKNOWLEDGEMENT response "
        "straight away."
    )


def referral_closed(declaration_id: str, version: int, referral: str | None) -> str:
    request = _REQUESTS.get(referral or "", "The request")
    return (
        f"{request} on declaration {declaration_id} version {version} is withdrawn; no "
        "action is needed for it. Any notice about a later version of the declaration "
        "still applies."
    )


def rejected(declaration_id: str, version: int, errors: int, complete: bool) -> str:
    if declaration_id and version:
        subject = f"Your message for declaration {declaration_id} version {version}"
    elif declaration_id:
        subject = f"Your message for declaration {declaration_id}"
    else:
        subject = "Your declaration message"
    found = (
        f"the {errors} errors given with this notice"
        if errors > 1
        else "the error given with this notice"
    )
    if not complete:
        found = f"the first {errors} errors found, given with this notice, and check the rest"
    return (
        f"{subject} was rejected and not screened: nothing in it was recorded. Correct "
        f"{found}, then send it again. The consignment may not be loaded on the strength of "
        "this message."
    )
