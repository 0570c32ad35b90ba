"""The check CI runs on ``make demo``'s output: it passes the demo's lines and names what is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.airflow_cli import REPO

#: What ``make demo`` printed on a run (the uploading id and the port vary).
DEMO_OUTPUT = """\
.venv/bin/python example_dags/demo.py
Metrika emulator running at http://127.0.0.1:34197
airflow dags test example_metrika_dataframe ...
Orders prepared for counter 12345 (dates written in Europe/Moscow, the counter's time zone):
Simplified orders:
  rows read           3
  rows written        3
  rows rejected       0
  order statuses      PAID 2, IN_PROGRESS 1

Metrika upload summary (counter 12345)
  parts                     1

  part      orders         bytes  uploading_id                          status
  1              3           299  066160d9-d5df-4621-b9ee-bd5423abc70a  PASSED

Emulator: 1 uploading(s), status PASSED
Emulator: orders stored for counter 12345: web-1001, web-1002, web-1003
DAG run succeeded; emulator stopped.
"""


def _check_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_demo", REPO / "scripts" / "check_demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demos_output_passes(tmp_path: Path) -> None:
    output = tmp_path / "demo.txt"
    output.write_text(DEMO_OUTPUT)

    assert _check_demo().main([str(output)]) == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("web-1003", "web-9999"), "the emulator's orders"),
        (("Metrika upload summary", "Upload summary"), "the summary's heading"),
        (("  PASSED\n", "  FAILED\n"), "the summary's part line"),
        (("rows written        3", "rows written        2"), "the report's rows written"),
        (("DAG run succeeded; emulator stopped.\n", "The DAG run failed.\n"), "the end"),
        (("Emulator: 1", "demo-token Emulator: 1"), "the token appears"),
    ],
)
def test_a_changed_or_missing_line_is_named(change: tuple[str, str], named: str) -> None:
    assert change[0] in DEMO_OUTPUT

    found = _check_demo().problems(DEMO_OUTPUT.replace(*change))

    assert any(problem.startswith(named) for problem in found), found
