"""Shared fixtures: the spec's reference data (a copy under tests/data is the golden file)."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def paper_reference() -> dict:
    return json.loads((DATA / "paper_reference.json").read_text())
