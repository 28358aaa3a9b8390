"""Shared fixtures. The test world (tests/world/) is available to every test file as `world`;
`dkim_dns` publishes the DKIM key report emails are signed with (tests/dkim_support.py)."""

from __future__ import annotations

import os

import pytest
from dkim_support import dkim_dns

from tests.world.fixtures import world

__all__ = ["dkim_dns", "world"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` starts two workers per core: most of a test's time is spent waiting, not computing
    (Textual's pilot sleeps until the app is idle, servers answer over loopback, timeouts run
    out). With one worker per core the whole suite kept the 2 cores of the CI machine only ~45%
    busy. `-n N` still sets the number itself."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return 2 * cores
