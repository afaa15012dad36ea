"""The house rules that a reader of the code relies on and import-linter cannot check
(docs/architecture.md): rooms stay small, and the core's functions stay readable."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

from tests.helpers import ROOT

PACKAGE = ROOT / "waitboard"
#: No module of the package is longer: past it a module holds more than one concept.
MAX_MODULE_LINES = 400
#: No function of the core is more complex (cyclomatic, as radon counts it): the core is
#: where the rules live, and a rule that takes more branches than this wants naming.
MAX_CORE_COMPLEXITY = 15


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_no_module_is_longer_than_400_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in _modules(PACKAGE)
        if (lines := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not too_long, too_long


def test_no_function_of_the_core_is_more_complex_than_15() -> None:
    too_complex = [
        f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname} ({block.complexity})"
        for path in _modules(PACKAGE / "core")
        for block in cc_visit(path.read_text("utf-8"))
        if block.complexity > MAX_CORE_COMPLEXITY
    ]
    assert not too_complex, too_complex
