"""Shared fixtures. The test world (tests/world/) is available to every test file as `world`;
`dkim_dns` publishes the DKIM key report emails are signed with (tests/dkim_support.py)."""

from __future__ import annotations

from dkim_support import dkim_dns

from tests.world.fixtures import world

__all__ = ["dkim_dns", "world"]
