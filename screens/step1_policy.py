"""Step 1: the policy file. MX patterns (prefilled from DNS), mode, max_age, live preview.

Coverage is computed by wizard.mx; this screen shows, for each pattern, which MX hosts
it covers, and warns about MX hosts no pattern covers (mail to them fails in enforce).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from screens.base import StepScreen
from screens.choice import ChoiceButton
from screens.widgets import CopyableValue, FindingsList, mx_text
from wizard.findings import Finding, has_errors
from wizard.mx import coverage, coverage_findings, normalise_mx_host, validate_mx_pattern
from wizard.policy import MAX_AGE_LIMIT, ONE_DAY, ONE_WEEK, PolicyFile, parse_policy, policy_advice
from wizard.state import record_policy, set_step
from wizard.text import shown

PRESETS: dict[str, list[tuple[str, int]]] = {
    "testing": [("1 day (86400 s), for testing", ONE_DAY), ("2 days (172800 s)", 2 * ONE_DAY)],
    "enforce": [("1 week (604800 s)", ONE_WEEK), ("2 weeks (1209600 s)", 2 * ONE_WEEK)],
}
DEFAULT_MAX_AGE = {"testing": ONE_DAY, "enforce": 2 * ONE_WEEK}
_UNIT_SECONDS = {"s": 1, "d": ONE_DAY, "w": ONE_WEEK}


def read_max_age(text: str) -> tuple[int | None, str | None]:
    """What the user typed as a custom max_age -> (seconds, None) or (None, a one-line error).

    Seconds, or a number of days / weeks ("3d", "2w") for people who do not think in seconds;
    the bound is the policy format's own (wizard.policy.MAX_AGE_LIMIT).
    """
    value = text.strip().lower().replace(" ", "")
    unit = value[-1:] if value[-1:] in _UNIT_SECONDS else "s"
    number = value[:-1] if value[-1:] in _UNIT_SECONDS else value
    if not number.isdigit() or not number.isascii():
        return None, f"type a number of seconds (0..{MAX_AGE_LIMIT}), or days/weeks like 3d or 2w"
    seconds = int(number) * _UNIT_SECONDS[unit]
    if seconds > MAX_AGE_LIMIT:
        return None, f"{seconds} s is more than the maximum {MAX_AGE_LIMIT} s (about a year); type less"
    return seconds, None


def max_age_advice(max_age: int) -> Text:
    """Advice for a max_age under one day (empty otherwise): senders re-fetch the policy that often,
    and a sender whose fetch is blocked is unprotected once its copy expires (RFC 8461 §10.2)."""
    if max_age >= ONE_DAY:
        return Text()
    return Text(
        f"! {max_age} s is under one day: senders fetch the policy again that often, and one whose fetch an "
        "attacker blocks is unprotected as soon as its copy expires. Use at least 86400 (1 day) for testing "
        "and a week or more in enforce.",
        style="yellow",
    )


class PolicyStep(StepScreen):
    """Build the policy file."""

    STEP = 1
    TITLE_TEXT = "Policy file"
    #: No automatic focus: on_mount focuses the pattern list itself. Textual's default ("*") would
    #: first focus the scrolling body and then lose it, restyling its ~30 widgets twice on the way
    #: to the first frame; "#patterns" would scroll the body to centre the list, hiding the top.
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_pattern", "Add MX"),
        Binding("d", "remove_pattern", "Remove"),
        Binding("w", "wildcard", "Wildcard"),
        Binding("u", "use_dns", "Use DNS MX"),
        # Back from the first step is the overview, which `o` already offers: one key less to show.
        Binding("b", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        saved = self.wizard.state.policy if self.wizard.session else None
        self.patterns: list[str] = list(saved.mx) if saved else []
        self.edited = saved is not None
        self.mode = saved.mode if saved and saved.mode in PRESETS else "testing"
        self.max_age = saved.max_age if saved else DEFAULT_MAX_AGE[self.mode]
        #: A max_age the user typed (or saved) that is not a preset, kept as a choice.
        self._own_max_age: int | None = None if self._is_preset(self.max_age) else self.max_age
        if not self.patterns and self.wizard.mx_hosts:
            self.patterns = list(self.wizard.mx_hosts)

    def basis(self) -> tuple[object, ...]:
        """The saved policy and whether enforce is offered: the patterns, mode and max_age
        widgets are built from them. Unsaved edits survive leaving and coming back; a policy
        saved elsewhere since (step 6 switching to enforce) rebuilds this screen."""
        saved = self.wizard.state.policy if self.wizard.session else None
        policy = (saved.mode, saved.max_age, tuple(saved.mx)) if saved else None
        return (*super().basis(), policy, self.wizard.session is not None and self.enforce_allowed())

    def compose_body(self) -> ComposeResult:
        yield Static(self._mx_intro(), id="dns-mx")
        yield OptionList(id="patterns")
        yield Input(placeholder="add an MX host or *.pattern, Enter", id="add-pattern")
        with Horizontal(id="mode-row"):
            with RadioSet(id="mode") as mode:
                mode.border_title = "Mode"
                if not self.enforce_allowed():
                    mode.border_subtitle = "enforce: once step 6 says ready"
                yield ChoiceButton("testing (report only)", value=self.mode == "testing", id="mode-testing")
                yield ChoiceButton(
                    "enforce",
                    value=self.mode == "enforce",
                    id="mode-enforce",
                    disabled=not self.enforce_allowed(),
                )
            with Vertical(id="max-age-box"), RadioSet(id="max-age") as presets:
                presets.border_title = "max_age: how long senders cache the policy"
                for index, (label, seconds) in enumerate(self._choices()):
                    yield ChoiceButton(label, value=seconds == self.max_age, id=f"max-age-{index}")
        yield Static("", id="max-age-advice")
        yield FindingsList(id="coverage", empty="Every MX host is covered by a pattern.")
        yield CopyableValue("Policy file (mta-sts.txt)", self.policy().to_text(), "mta-sts.txt", id="preview")

    def on_mount(self) -> None:
        self.render_patterns()
        self.set_focus(self.query_one("#patterns", OptionList), scroll_visible=False)

    def _mx_intro(self) -> Text:
        """What DNS says about the MX hosts, then the heading of the pattern list (one widget)."""
        out = mx_text(self.wizard)
        out.append("\nMX patterns in the policy (one per line; *.example.com matches one label):")
        return out

    def enforce_allowed(self) -> bool:
        state = self.wizard.state
        return state.steps[6].status == "verified" or (state.policy is not None and state.policy.mode == "enforce")

    def _is_preset(self, max_age: int) -> bool:
        return max_age in [v for _, v in PRESETS[self.mode]]

    def _choices(self) -> list[tuple[str, int | None]]:
        """The max_age choices: the mode's presets, then the user's own value (None until one is
        entered: choosing it opens a field to type one)."""
        own = self._own_max_age
        return [*PRESETS[self.mode], (f"{own} s (your own)" if own is not None else "your own…", own)]

    def _show_choices(self) -> None:
        """Label the max_age buttons for the current mode and press the one of the current value."""
        buttons = list(self.query_one("#max-age", RadioSet).query(RadioButton))
        for button, (label, seconds) in zip(buttons, self._choices(), strict=True):
            button.label = label
            if seconds == self.max_age:
                # Pressing one is all it takes: the RadioSet releases the other (setting a button
                # off by hand would be undone by it). Its Changed comes back as a no-op here.
                button.value = True

    def _show_choices_later(self) -> None:
        """`_show_choices` from a RadioSet.Changed handler: after the refresh, because such a handler
        runs with the sets' button messages held back (Textual's `prevent`), and the max_age set
        would not hear of the button pressed there."""
        self.call_after_refresh(self._show_choices)

    def policy(self) -> PolicyFile:
        return PolicyFile(mode=self.mode, max_age=self.max_age, mx=tuple(self.patterns))

    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        if not self.patterns:
            out += parse_policy(self.policy().to_text()).findings
        hosts = self.wizard.mx_hosts
        if hosts:
            out += coverage_findings(coverage(self.patterns, hosts), self.mode)
        return out

    def render_patterns(self) -> None:
        hosts = self.wizard.mx_hosts or []
        cov = coverage(self.patterns, hosts)
        options = []
        for pattern in self.patterns:
            covers = [h for h, pats in cov.covered.items() if pattern in pats]
            line = Text(shown(pattern), style="bold")
            if covers:
                line.append(shown(f"  → covers {', '.join(covers)}"), "green")
            elif self.wizard.mx_hosts is not None:
                line.append("  → covers no MX host", "yellow")
            options.append(Option(line, id=pattern))
        if not options:
            options.append(Option(Text("(no patterns yet: press a to add one)", style="dim"), disabled=True))
        patterns = self.query_one("#patterns", OptionList)
        highlighted = patterns.highlighted
        patterns.clear_options()
        patterns.add_options(options)
        if self.patterns:
            patterns.highlighted = min(highlighted or 0, len(self.patterns) - 1)
        self.refresh_derived()

    def missing_text(self) -> str:
        if not self.patterns:
            return "add at least one MX pattern first (a, or u to use the MX hosts from DNS)"
        errors = [f for f in self.findings() if f.severity == "error"]
        if errors:
            return "fix this first: " + errors[0].message
        return super().missing_text()

    def refresh_derived(self) -> None:
        findings = self.findings()
        self.query_one("#coverage", FindingsList).show(findings)
        self.query_one("#preview", CopyableValue).set_value(self.policy().to_text())
        advice = max_age_advice(self.max_age)
        line = self.query_one("#max-age-advice", Static)
        line.update(advice)
        line.display = bool(advice.plain)  # no empty row when there is nothing to advise
        self.can_advance = bool(self.patterns) and not has_errors(findings)

    def step_updated(self) -> None:
        """The DNS lookup finished: show it, and prefill the patterns if the user has none yet."""
        self.query_one("#dns-mx", Static).update(self._mx_intro())
        if not self.edited and not self.patterns and self.wizard.mx_hosts:
            self.patterns = list(self.wizard.mx_hosts)
        self.render_patterns()

    # ------------------------------------------------------------------ editing

    #: The one-line answers to what is typed, each under its field: mounted the first time there is
    #: something to say (the first frame has nothing to say and need not build them).
    _FEEDBACK_UNDER: ClassVar[dict[str, str]] = {"pattern-feedback": "add-pattern", "max-age-error": "max-age-custom"}

    def _say(self, line_id: str, text: Text | str) -> None:
        """Show `text` (or nothing) in the feedback line `line_id`."""
        for line in self.query(f"#{line_id}").results(Static):
            line.update(text)
            return
        if text:
            field = self.query_one(f"#{self._FEEDBACK_UNDER[line_id]}")
            field.parent.mount(Static(text, id=line_id), after=field)  # type: ignore[union-attr]

    @on(Input.Changed, "#add-pattern")
    def _pattern_typed(self, event: Input.Changed) -> None:
        value = event.value.strip().lower()
        if not value:
            self._say("pattern-feedback", "")
            return
        problem = validate_mx_pattern(value)
        answer = Text(f"✗ {problem}", style="red") if problem else Text("✓ Enter adds it", style="green")
        self._say("pattern-feedback", answer)

    @on(Input.Submitted, "#add-pattern")
    def _pattern_submitted(self, event: Input.Submitted) -> None:
        value = normalise_mx_host(event.value) if not event.value.strip().startswith("*.") else event.value.strip()
        value = value.lower()
        problem = validate_mx_pattern(value)
        if problem:
            self._say("pattern-feedback", Text(f"✗ {problem}", style="red"))
            return
        if value in self.patterns:
            self._say("pattern-feedback", Text(f"{value} is already in the list", style="yellow"))
            return
        self.patterns.append(value)
        self.edited = True
        event.input.value = ""
        self._say("pattern-feedback", Text(f"added {value}", style="green"))
        self.render_patterns()

    def _highlighted_pattern(self) -> int | None:
        index = self.query_one("#patterns", OptionList).highlighted
        if index is None or index >= len(self.patterns):
            return None
        return index

    def action_add_pattern(self) -> None:
        self.query_one("#add-pattern", Input).focus()

    def action_remove_pattern(self) -> None:
        index = self._highlighted_pattern()
        if index is None:
            return
        self.patterns.pop(index)
        self.edited = True
        self.render_patterns()

    def action_wildcard(self) -> None:
        """mx1.example.com -> *.example.com: one pattern for every MX of that parent."""
        index = self._highlighted_pattern()
        if index is None:
            return
        pattern = self.patterns[index]
        if pattern.startswith("*."):
            return
        parent = pattern.partition(".")[2]
        wildcard = f"*.{parent}"
        if validate_mx_pattern(wildcard):
            self.notify(f"{pattern} has no parent to wildcard", severity="warning", markup=False)
            return
        self.patterns[index] = wildcard
        # Drop the exact names the wildcard now covers, keeping the list short.
        self.patterns = [p for i, p in enumerate(self.patterns) if i == index or p != wildcard]
        self.edited = True
        self.render_patterns()

    def action_use_dns(self) -> None:
        if self.wizard.mx_hosts:
            self.patterns = list(self.wizard.mx_hosts)
            self.edited = True
            self.render_patterns()

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        mode = "enforce" if event.pressed.id == "mode-enforce" else "testing"
        if mode == self.mode:
            return
        self.mode = mode
        self.max_age = DEFAULT_MAX_AGE[self.mode]
        self._own_max_age = None
        for field in self.query("#max-age-custom").results(Input):
            field.value = ""
        self._show_choices_later()
        self.refresh_derived()

    @on(RadioSet.Changed, "#max-age")
    async def _max_age_changed(self, event: RadioSet.Changed) -> None:
        choices = self._choices()
        seconds = choices[event.index][1]
        if event.index == len(choices) - 1:
            await self._open_own_field(focus=seconds is None)
        if seconds is None:
            self._show_choices_later()  # nothing of the user's own yet: the current value stays chosen
            return
        if seconds != self.max_age:
            self.max_age = seconds
            self._say("max-age-error", "")
            self.refresh_derived()

    async def _open_own_field(self, *, focus: bool) -> None:
        """The field for the user's own max_age, mounted under the choices the first time it is chosen
        (it need not be built for the first frame)."""
        field = next(iter(self.query("#max-age-custom").results(Input)), None)
        if field is None:
            own = self._own_max_age
            field = Input(
                "" if own is None else str(own), placeholder="your own: seconds, 3d, 2w; Enter", id="max-age-custom"
            )
            await self.query_one("#max-age-box", Vertical).mount(field)
        if focus:
            field.focus()

    @on(Input.Changed, "#max-age-custom")
    def _custom_max_age_typed(self, _event: Input.Changed) -> None:
        self._say("max-age-error", "")

    @on(Input.Submitted, "#max-age-custom")
    def _custom_max_age_submitted(self, event: Input.Submitted) -> None:
        """A custom max_age replaces the preset; a bad one shows one line and keeps the previous value."""
        seconds, problem = read_max_age(event.value)
        if seconds is None:
            self._say("max-age-error", Text(f"✗ {problem}", style="red"))
            return
        self._say("max-age-error", "")
        self.max_age = seconds
        self._own_max_age = None if self._is_preset(seconds) else seconds
        self._show_choices()
        self.refresh_derived()

    # ------------------------------------------------------------------ accept

    def action_next(self) -> None:
        """Lowering what is live (mode, max_age, mx patterns) is asked first, on a screen that says
        what it does to senders that cached the live policy (wizard.lifecycle.adopt)."""
        from wizard.lifecycle.adopt import downgrade_effects, live_policy_of

        live = live_policy_of(self.wizard.state) if self.wizard.session else None
        effects = downgrade_effects(live, self.policy()) if live is not None else []
        if live is None or not effects or self.policy().same_as(self._confirmed_lower):
            super().action_next()
            return
        from screens.confirm import ConfirmScreen

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._confirmed_lower = self.policy()
                super(PolicyStep, self).action_next()

        lines = [f"The live policy is mode {live.mode}, max_age {live.max_age}, mx {', '.join(live.mx)}.", *effects]
        self.app.push_screen(ConfirmScreen("Lower the live policy?", lines, confirm_label="Lower it"), answered)

    _confirmed_lower: PolicyFile | None = None

    def accept(self) -> bool:
        findings = self.findings()
        if not self.patterns or has_errors(findings):
            self.notify("fix the problems listed first", severity="error", markup=False)
            return False
        policy = self.policy()
        parsed = parse_policy(policy.to_text())
        if not parsed.valid:
            self.notify(parsed.findings[0].render(), severity="error", markup=False)
            return False
        state = self.wizard.state
        now = self.wizard.clock()
        had_policy = state.policy is not None
        new_id = record_policy(state, policy, now)
        if new_id and had_policy:
            for step in (2, 3):
                if state.steps[step].status != "not-started":
                    set_step(
                        state, step, "waiting", now, detail="the policy changed: publish the new file, then the id"
                    )
        advice = [f for f in findings + policy_advice(policy, domain=state.domain) if f.severity == "warning"]
        set_step(state, 1, "warning" if advice else "verified", now, detail=f"{policy.mode}, {len(self.patterns)} MX")
        self.wizard.save()
        self.rebase()  # this screen shows what was just saved
        return True
