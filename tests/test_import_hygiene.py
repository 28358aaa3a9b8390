"""The core must stay UI-free: importing any wizard module never pulls in Textual or screens."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import wizard

ROOT = Path(__file__).resolve().parent.parent


def wizard_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(wizard.__path__, prefix="wizard.") if m.name != "wizard.__main__"
    )


def test_there_are_core_modules_to_check() -> None:
    assert "wizard.findings" in wizard_modules()
    assert "wizard.cli" in wizard_modules()


def test_no_wizard_module_imports_textual_or_screens() -> None:
    modules = wizard_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'screens'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "", f"core modules imported UI modules: {out.stdout.strip()}"
