"""pytest fixtures for the test world; tests/conftest.py re-exports them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.world.world import World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A fresh world per test: its own DNS server, CA and servers, all torn down afterwards."""
    w = World(tmp_path)
    try:
        yield w
    finally:
        w.close()
