"""Rule files can never run code or exhaust the loader: YAML tags that construct Python objects
are refused, aliases cannot expand into billions of values, and text that looks like code is
only ever data."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.contract.models import Declaration
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import RuleSetInvalid, load_ruleset
from pipeline.yaml_documents import MAX_EXPANDED_NODES
from tests.factories import declaration
from tests.unit.rules.test_loader import VALID, change, line_of, refused, write


def marker_command(marker: Path) -> str:
    return f"touch {marker}"


@pytest.mark.parametrize(
    "tagged",
    [
        '!!python/object/apply:os.system ["{command}"]',
        "!!python/object/new:subprocess.Popen [[sh, -c, '{command}']]",
        "!!python/name:os.system",
        '!!python/module:os ""',
        '!custom {{equals: "93"}}',
        '!<tag:yaml.org,2002:python/object/apply:os.system> ["{command}"]',
    ],
)
def test_a_tag_that_would_construct_an_object_is_refused(tmp_path: Path, tagged: str) -> None:
    marker = tmp_path / "ran"
    value = tagged.format(command=marker_command(marker))
    text = change('hs_chapter: {equals: "93"}', f"hs_chapter: {value}")
    [problem] = refused(tmp_path / "rules", {"arms.yaml": text})
    assert problem.source.endswith("arms.yaml")
    assert problem.line == line_of(text, "hs_chapter:")
    assert "not valid YAML" in problem.reason
    assert not marker.exists()


def test_a_tag_on_the_whole_document_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f'!!python/object/apply:os.system ["{marker_command(marker)}"]\n'
    [problem] = refused(tmp_path / "rules", {"evil.yaml": text})
    assert problem.line == 1
    assert not marker.exists()


def billion_laughs(levels: int = 9) -> str:
    lines = ["  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "tags:\n" + "\n".join(lines) + "\n"


@pytest.mark.timeout(30)
def test_aliases_that_expand_to_billions_of_values_are_refused_at_once(tmp_path: Path) -> None:
    text = VALID + billion_laughs()
    [problem] = refused(tmp_path / "rules", {"laughs.yaml": text})
    assert problem.line == line_of(text, "tags:")
    assert f"more than {MAX_EXPANDED_NODES:,}" in problem.reason


def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    text = VALID + "tags: &loop [customs, *loop]\n"
    [problem] = refused(tmp_path / "rules", {"loop.yaml": text})
    assert problem.line == line_of(text, "tags:")
    assert "contains itself" in problem.reason


def test_a_small_shared_fragment_still_loads(tmp_path: Path) -> None:
    text = change(
        '  match:\n    - goods: [{hs_code: "930690"}]',
        '  match:\n    - &arms {goods: [{hs_code: "930690"}]}\n    - *arms',
    )
    write(tmp_path / "rules", {"arms.yaml": text})
    ruleset = load_ruleset(tmp_path / "rules")
    assert ruleset.rules[0].cases["match"][0] == ruleset.rules[0].cases["match"][1]


CODE = "__import__('os').system('touch {marker}')"


def test_a_condition_written_as_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = CODE.format(marker=marker)
    text = change('  any_goods:\n    hs_chapter: {equals: "93"}', f'  "{code}"')
    [problem] = refused(tmp_path / "rules", {"code.yaml": text})
    assert problem.line == line_of(text, "when:")
    assert "a condition is a mapping" in problem.reason
    assert not marker.exists()


def test_an_operator_named_like_code_is_refused(tmp_path: Path) -> None:
    text = change('hs_chapter: {equals: "93"}', 'hs_chapter: {__import__: "os"}')
    problems = refused(tmp_path / "rules", {"code.yaml": text})
    assert [p.line for p in problems] == [line_of(text, "__import__")]


def test_code_inside_a_value_is_inert_text(tmp_path: Path) -> None:
    """A value that looks like code is compared as text, never evaluated."""
    marker = tmp_path / "ran"
    code = CODE.format(marker=marker)
    text = (
        change('hs_chapter: {equals: "93"}', f'description: {{contains: "{code}"}}')
        .replace('hs_code: "930690"}]', f'hs_code: "930690", description: "{code}"}}]', 1)
        .replace('hs_code: "940360"}]', 'hs_code: "940360", description: "chairs"}]', 1)
    )
    write(tmp_path / "rules", {"code.yaml": text})
    ruleset = load_ruleset(tmp_path / "rules")
    evaluator = RuleEvaluator(CompiledRuleSet(ruleset))

    def filed(description: str) -> Declaration:
        return declaration(goods=[{"description": description}])

    [quoted, plain] = evaluator.evaluate_declarations([filed(f"crate: {code}"), filed("chairs")])
    assert [m.rule_id for m in quoted.matches] == ["HS-ARMS-93"]
    assert plain.matches == []
    assert not marker.exists()


@pytest.mark.parametrize("name", ["lists/ports.txt", "arms.yaml"])
def test_a_file_saved_as_latin_1_is_refused_at_its_line(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "rules"
    write(folder, {"arms.yaml": VALID})
    target = folder / name
    text = target.read_text() if target.exists() else "ROTTERDAM\nHAMBURG\n"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(text.encode() + "# São Paulo\n".encode("latin-1"))
    with pytest.raises(RuleSetInvalid) as raised:
        load_ruleset(folder)
    [problem] = raised.value.problems
    assert problem.source == str(target)
    assert problem.line == len(text.splitlines()) + 1
    assert "not UTF-8 text: byte 0xe3" in problem.reason
