"""The step number -> screen registry (navigation, the command palette and resume use it).

Each step's module is imported when that step is first opened: step 2 brings the hosting
templates, step 6 the report store and the lifecycle, and none of that is needed to paint
the start screen or step 1.
"""

from __future__ import annotations

import importlib

from screens.base import StepScreen

STEP_SCREENS: dict[int, tuple[str, str]] = {
    1: ("screens.step1_policy", "PolicyStep"),
    2: ("screens.step2_hosting", "HostingStep"),
    3: ("screens.step3_sts", "StsRecordStep"),
    4: ("screens.step4_tlsrpt", "TlsRptStep"),
    5: ("screens.step5_verify", "VerifyStep"),
    6: ("screens.step6_monitor", "MonitorStep"),
}


def step_screen_class(step: int) -> type[StepScreen]:
    module, name = STEP_SCREENS[step]
    cls: type[StepScreen] = getattr(importlib.import_module(module), name)
    return cls


def step_screen_classes() -> dict[int, type[StepScreen]]:
    return {step: step_screen_class(step) for step in STEP_SCREENS}


def screen_for_step(step: int) -> StepScreen:
    return step_screen_class(step)()
