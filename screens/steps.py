"""The step number -> screen registry (navigation, the command palette and resume use it)."""

from __future__ import annotations

from screens.base import StepScreen


def step_screen_classes() -> dict[int, type[StepScreen]]:
    from screens.step1_policy import PolicyStep
    from screens.step2_hosting import HostingStep
    from screens.step3_sts import StsRecordStep
    from screens.step4_tlsrpt import TlsRptStep
    from screens.step5_verify import VerifyStep
    from screens.step6_monitor import MonitorStep

    return {1: PolicyStep, 2: HostingStep, 3: StsRecordStep, 4: TlsRptStep, 5: VerifyStep, 6: MonitorStep}


def screen_for_step(step: int) -> StepScreen:
    return step_screen_classes()[step]()
