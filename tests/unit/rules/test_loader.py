"""Broken rule files are refused with the file, the line and the reason of every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.rules.loader import Problem, RuleSetInvalid, load_ruleset

VALID = """\
id: HS-ARMS-93
version: 1
title: Arms and ammunition
owner: targeting-centre@customs.example
reason: "Arms or ammunition declared (HS {hs_code})"
review_by: 2027-06-30
mode: active
action: HRCM
score: 60
when:
  any_goods:
    hs_chapter: {equals: "93"}
cases:
  match:
    - goods: [{hs_code: "930690"}]
  no_match:
    - goods: [{hs_code: "940360"}]
"""
LITHIUM = "UN3480\nUN3481  # contained in equipment\n"


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def refused(folder: Path, files: dict[str, str]) -> list[Problem]:
    write(folder, files)
    with pytest.raises(RuleSetInvalid) as raised:
        load_ruleset(folder)
    return raised.value.problems


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of ``text`` that holds ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def change(old: str, new: str, text: str = VALID) -> str:
    assert old in text
    return text.replace(old, new, 1)


def only(problems: list[Problem], fragment: str) -> Problem:
    found = [p for p in problems if fragment in p.reason]
    assert len(found) == 1, problems
    return found[0]


def test_a_valid_rule_loads(tmp_path: Path) -> None:
    write(tmp_path, {"goods/arms.yaml": VALID})
    ruleset = load_ruleset(tmp_path)
    assert [r.id for r in ruleset.rules] == ["HS-ARMS-93"]


def test_not_valid_yaml_names_the_line_of_the_error(tmp_path: Path) -> None:
    text = change("title: Arms and ammunition", "title: Arms: and ammunition")
    [problem] = refused(tmp_path, {"arms.yaml": text})
    assert problem.source == str(tmp_path / "arms.yaml")
    assert problem.line == line_of(text, "title:")
    assert problem.reason.startswith("not valid YAML")
    assert str(problem).startswith(f"{tmp_path / 'arms.yaml'}:{problem.line}: not valid YAML")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('    - goods: [{hs_code: "940360"}]', '    - goods: [{hs_code: "940360"}]]'),
        ('    hs_chapter: {equals: "93"}', '\ths_chapter: {equals: "93"}'),
    ],
)
def test_a_yaml_error_deep_in_the_file(tmp_path: Path, old: str, new: str) -> None:
    text = change(old, new)
    [problem] = refused(tmp_path, {"arms.yaml": text})
    assert problem.reason.startswith("not valid YAML")
    assert problem.line == line_of(text, new.strip())


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    [problem] = refused(tmp_path, {"arms.yaml": "- id: X\n"})
    assert (problem.line, problem.reason) == (1, "a rule file holds one mapping (id, version, ...)")


@pytest.mark.parametrize("key", ["owner", "reason", "review_by", "when", "score"])
def test_a_missing_key(tmp_path: Path, key: str) -> None:
    text = "".join(line for line in VALID.splitlines(True) if not line.startswith(f"{key}:"))
    if key == "when":
        text = change('    hs_chapter: {equals: "93"}\n', "", change("  any_goods:\n", "", text))
    problem = only(refused(tmp_path, {"arms.yaml": text}), f"missing `{key}`")
    assert problem.line == 1  # the document: the key has no line of its own


def test_an_unknown_key(tmp_path: Path) -> None:
    text = change("mode: active\n", "mode: active\nseverity: high\n")
    problem = only(refused(tmp_path, {"arms.yaml": text}), "unknown key `severity`")
    assert problem.line == line_of(text, "severity:")


def test_an_unknown_field(tmp_path: Path) -> None:
    text = change('    hs_chapter: {equals: "93"}', '    hs_chaptr: {equals: "93"}')
    problem = only(refused(tmp_path, {"arms.yaml": text}), "unknown goods field `hs_chaptr`")
    assert problem.line == line_of(text, "hs_chaptr")


def test_a_goods_field_at_the_declaration_level_is_explained(tmp_path: Path) -> None:
    text = change('  any_goods:\n    hs_chapter: {equals: "93"}', '  hs_chapter: {equals: "93"}')
    problem = only(refused(tmp_path, {"arms.yaml": text}), "`hs_chapter` is a goods field")
    assert "inside `any_goods`" in problem.reason
    assert problem.line == line_of(text, "hs_chapter")


def test_a_party_field_at_the_declaration_level_is_explained(tmp_path: Path) -> None:
    text = change(
        '  any_goods:\n    hs_chapter: {equals: "93"}',
        "  all:\n    - transport.mode: AIR\n    - po_box: true",
    )
    text = change("(HS {hs_code})", "by {transport.mode}", text)
    problem = only(refused(tmp_path, {"arms.yaml": text}), "`po_box` is a party field")
    assert "inside `any_party`" in problem.reason
    assert problem.line == line_of(text, "po_box")


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ("packages: {contains: '4'}", "`contains` does not apply to number field `packages`"),
        ("description: {gt: 3}", "`gt` does not apply to text field `description`"),
        ("hs_code: {includes_any: ['93']}", "`includes_any` does not apply to text field"),
    ],
)
def test_an_operator_that_does_not_fit_the_field(tmp_path: Path, test: str, message: str) -> None:
    text = change(
        '    hs_chapter: {equals: "93"}', f"    all:\n      - hs_chapter: '93'\n      - {test}"
    )
    problem = only(refused(tmp_path, {"arms.yaml": text}), message)
    assert problem.line == line_of(text, test.split(":")[0] + ":")


def test_an_operand_of_the_wrong_kind(tmp_path: Path) -> None:
    text = change('    hs_chapter: {equals: "93"}', "    gross_mass_kg: {gt: heavy}")
    problem = only(refused(tmp_path, {"arms.yaml": text}), "`gt` takes a number")
    assert problem.line == line_of(text, "gross_mass_kg")


@pytest.mark.parametrize(
    "pattern",
    [
        "(unclosed",  # Python cannot compile it
        "^(?!GENERAL)",  # look-ahead: Python can, the Polars engine cannot
        "(a)\\\\1",  # back-reference: likewise
    ],
)
def test_a_bad_regular_expression(tmp_path: Path, pattern: str) -> None:
    text = change(
        '    hs_chapter: {equals: "93"}',
        f'    all:\n      - hs_chapter: "93"\n      - description: {{matches: "{pattern}"}}',
    )
    problem = only(refused(tmp_path, {"arms.yaml": text}), "bad regular expression")
    assert problem.line == line_of(text, "matches")


def test_an_unknown_list(tmp_path: Path) -> None:
    text = change(
        '  any_goods:\n    hs_chapter: {equals: "93"}',
        "  all:\n    - transport.mode: AIR\n    - any_goods:\n        un_number: {in_list: lithum}",
    )
    problems = refused(tmp_path, {"dg.yaml": text, "lists/lithium.txt": LITHIUM})
    problem = only(problems, "no list named 'lithum'")
    assert "(lists: lithium)" in problem.reason
    assert problem.line == line_of(text, "un_number")


def test_a_known_list_loads(tmp_path: Path) -> None:
    text = change('    hs_chapter: {equals: "93"}', "    un_number: {in_list: lithium}")
    text = change("(HS {hs_code})", "({un_number})", text)
    write(tmp_path, {"dg.yaml": text, "lists/lithium.txt": LITHIUM})
    assert load_ruleset(tmp_path).lists == {"lithium": frozenset({"UN3480", "UN3481"})}


def test_an_empty_list(tmp_path: Path) -> None:
    problems = refused(tmp_path, {"arms.yaml": VALID, "lists/lithium.txt": "# nothing yet\n"})
    problem = only(problems, "the list is empty")
    assert problem.source == str(tmp_path / "lists" / "lithium.txt")


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        # a goods field with no `any_goods` around it
        ("  transport.mode: AIR", "Arms by {transport.mode}: {hs_code}"),
        # a goods field only under `not`: no item to take it from
        ("  not:\n    any_goods:\n      hs_chapter: '93'", "No arms: {hs_code}"),
        # a party field in a rule on goods
        ("  any_goods:\n    hs_chapter: '93'", "Arms for {name}"),
    ],
)
def test_a_reason_that_names_a_field_out_of_scope(tmp_path: Path, when: str, reason: str) -> None:
    text = change('  any_goods:\n    hs_chapter: {equals: "93"}', when)
    text = change('"Arms or ammunition declared (HS {hs_code})"', f'"{reason}"', text)
    problems = refused(tmp_path, {"arms.yaml": text})
    problem = only(problems, "which is not a field here")
    assert problem.line == line_of(text, "reason:")


def test_the_same_id_in_two_files(tmp_path: Path) -> None:
    problems = refused(tmp_path, {"a/arms.yaml": VALID, "b/arms-again.yaml": VALID})
    [problem] = problems
    assert problem.source == str(tmp_path / "b" / "arms-again.yaml")
    assert problem.line == line_of(VALID, "id:")
    assert problem.reason == f"rule id HS-ARMS-93 is also used in {tmp_path / 'a' / 'arms.yaml'}"


def test_valid_to_before_valid_from(tmp_path: Path) -> None:
    text = change("review_by:", "valid_from: 2027-01-01\nvalid_to: 2026-12-31\nreview_by:")
    problem = only(refused(tmp_path, {"arms.yaml": text}), "`valid_to` is before `valid_from`")
    assert problem.line == line_of(text, "valid_to:")


def test_a_date_that_is_not_a_date(tmp_path: Path) -> None:
    text = change("review_by: 2027-06-30", "review_by: next spring")
    problem = only(refused(tmp_path, {"arms.yaml": text}), "`review_by` is a date")
    assert problem.line == line_of(text, "review_by:")


def test_no_match_case(tmp_path: Path) -> None:
    text = change('  match:\n    - goods: [{hs_code: "930690"}]\n', "")
    problem = only(refused(tmp_path, {"arms.yaml": text}), "give at least one `match` case")
    assert problem.line == line_of(text, "cases:")


def test_no_cases_at_all(tmp_path: Path) -> None:
    text = VALID[: VALID.index("cases:")]
    problem = only(refused(tmp_path, {"arms.yaml": text}), "give at least one `match` case")
    assert problem.line is not None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("action: HRCM", "action: STOP", "`action` is one of SCORE, RFI, HRCM, DNL"),
        ("mode: active", "mode: silent", "`mode` is one of active, shadow"),
        ("version: 1", "version: 0", "`version` is a whole number from 1"),
        ("score: 60", "score: high", "`score` is a number from -1000 to 1000"),
        ("id: HS-ARMS-93", "id: HS ARMS 93", "`id` is 1-64 letters, digits, - or _"),
    ],
)
def test_a_bad_value(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = change(old, new)
    problem = only(refused(tmp_path, {"arms.yaml": text}), message)
    assert problem.line == line_of(text, new)


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    broken_yaml = change("title: Arms and ammunition", "title: Arms: and ammunition")
    unknown_key = change("id: HS-ARMS-93", "id: HS-ARMS-94").replace(
        "mode: active\n", "mode: active\nseverity: high\n"
    )
    bad_dates = change("id: HS-ARMS-93", "id: HS-ARMS-95").replace(
        "review_by:", "valid_from: 2027-01-01\nvalid_to: 2026-12-31\nreview_by:"
    )
    problems = refused(
        tmp_path, {"1.yaml": broken_yaml, "2.yaml": unknown_key, "3.yaml": bad_dates}
    )
    assert [(Path(p.source).name, p.line) for p in problems] == [
        ("1.yaml", line_of(broken_yaml, "title:")),
        ("2.yaml", line_of(unknown_key, "severity:")),
        ("3.yaml", line_of(bad_dates, "valid_to:")),
    ]
    message = str(RuleSetInvalid(problems))
    assert message.startswith("rule set refused, 3 problems:")


def test_an_empty_folder(tmp_path: Path) -> None:
    [problem] = refused(tmp_path, {})
    assert problem.reason == "no rule files (*.yaml) found"


def test_a_data_quality_rule_loads_with_its_concern(tmp_path: Path) -> None:
    text = change("action: HRCM\nscore: 60\n", "concern: data-quality\naction: RFI\nscore: 30\n")
    write(tmp_path, {"arms.yaml": text})
    (rule,) = load_ruleset(tmp_path).rules
    assert rule.data_quality
    assert rule.concern == "data-quality"


def test_a_rule_without_a_concern_is_a_security_rule(tmp_path: Path) -> None:
    write(tmp_path, {"arms.yaml": VALID})
    (rule,) = load_ruleset(tmp_path).rules
    assert rule.concern == "security"
    assert not rule.data_quality


def test_an_unknown_concern(tmp_path: Path) -> None:
    text = change("mode: active\n", "mode: active\nconcern: revenue\n")
    problem = only(refused(tmp_path, {"arms.yaml": text}), "`concern` is one of")
    assert problem.line == line_of(text, "concern:")


@pytest.mark.parametrize("action", ["HRCM", "DNL"])
def test_a_data_quality_rule_may_not_refer_for_screening(tmp_path: Path, action: str) -> None:
    text = change("action: HRCM\n", f"concern: data-quality\naction: {action}\n")
    problem = only(refused(tmp_path, {"arms.yaml": text}), "a data-quality rule asks for")
    assert problem.line == line_of(text, "action:")
