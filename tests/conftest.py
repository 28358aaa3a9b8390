"""Shared fixtures. The test world (tests/world/) is available to every test file as `world`."""

from __future__ import annotations

from tests.world.fixtures import world

__all__ = ["world"]
