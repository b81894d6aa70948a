"""The controls the written CIP may state, each tied to the code that performs it and the switch of
the policy in force that enables it (A1: "the two never differ"; H1-H3 statements will come from
here too).

The written CIP (``cloudcip cip render``, ``reports.written_cip``) is a statement to examiners. Every
sentence it makes comes from a :class:`Control` of this registry that is **enabled** by the CIP
policy, the regulatory profile and the settings in force (:class:`ControlContext`); a control that is
not built has no entry, and a control that is switched off says nothing. The claims test
(``tests/reports/test_written_cip_claims.py``) renders the written CIP and checks, for every control
it states, that

- each dotted path of ``performed_by`` imports (the code that performs it exists);
- its ``enabled`` switch is on for the policy rendered;
- at least one test carries ``@pytest.mark.control("<id>")`` **and** a ``requirement`` marker, i.e.
  drives the control through the HTTP API or the CLI (``reports.markers`` reads the markers);
- every block of the document names the controls it states (nothing is said outside the registry).

How a package adds the statement of a control it lands
------------------------------------------------------
1. Land the control itself and a test that drives it through the API or the CLI, marked with both
   ``@pytest.mark.requirement("B1")`` and ``@pytest.mark.control("retention.purge")``.
2. Add a :class:`Control` to the ``CONTROLS`` tuple of a module of this package, one module per area
   (``verification.py``, ``screening.py``, ``access.py`` exist; create ``records.py``,
   ``resellers.py``, ``sharing.py`` ... as needed: every module here with a ``CONTROLS`` tuple is
   discovered, no list to edit). Give it:

   - ``id``: a stable dotted name (``retention.purge``), the one the test marker uses;
   - ``section``: the requirement id of the written CIP section that states it (``"B1"``); a section
     appears only when one of its controls is enabled; ``""`` is the preamble;
   - ``statement``: what the provider commits to, in the present tense, true of the code as it is;
     it may use ``{policy.…}``, ``{profile.…}`` and ``{context.…}`` fields (``str.format``), or be a
     function of the :class:`ControlContext`;
   - ``performed_by``: dotted paths of the functions, methods or classes that do it;
   - ``switch`` (in words) and ``enabled`` (a function of the context): what turns it on. A control
     that runs whatever the policy says uses :func:`always`; one that the policy may leave out reads
     the policy (for example :func:`method_accepted`); one behind a setting reads ``context.settings``;
   - optionally ``term`` (the statement is shown as "term: statement" in a definition list),
     ``group`` (consecutive controls of a section with one group are shown together under it) and
     ``position`` (within a section, lower first; 100 by default, then registry order).
3. Run ``pytest tests/reports``: the claims test fails until the marked test exists.

Statements for controls that are planned but not built stay out of this registry; the written CIP
never states what the code does not do.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from cloudcip.settings import Settings
from cloudcip.verification.policy import CipPolicy
from cloudcip.verification.profile import RegulatoryProfile, check_policy_against_profile


@dataclass(frozen=True)
class ControlContext:
    """What is in force when the written CIP is rendered: the CIP policy, the regulatory profile and
    (from the CLI) the settings, which some controls depend on (a vendor webhook secret, say)."""

    policy: CipPolicy
    profile: RegulatoryProfile
    settings: Settings | None = None

    def accepts(self, method: str) -> bool:
        """Whether any rule accepts ``method`` for the customer or for beneficial owners."""
        for rule in self.policy.rules:
            owners = rule.verification.beneficial_owners
            if method in rule.verification.methods or method in rule.verification.us_person_baseline or (
                    owners is not None and method in owners.methods):
                return True
        return False

    @cached_property
    def profile_problems(self) -> tuple[str, ...]:
        """Where the policy falls outside the profile (``check_policy_against_profile``)."""
        return tuple(check_policy_against_profile(self.policy, self.profile))

    def within_profile(self, key: str) -> bool:
        """Whether no rule of the policy breaks the profile on ``key`` (``pending.deadline``,
        ``reverification_interval_days``, ``required_fields``)."""
        return not any(f".{key}:" in problem for problem in self.profile_problems)


Statement = str | Callable[[ControlContext], str]


def always(_context: ControlContext) -> bool:
    """The switch of a control that runs whatever the policy says."""
    return True


def method_accepted(method: str) -> Callable[[ControlContext], bool]:
    """The switch of a verification method: some rule of the policy accepts it."""

    def enabled(context: ControlContext) -> bool:
        return context.accepts(method)

    enabled.__name__ = f"method_accepted_{method}"
    return enabled


@dataclass(frozen=True)
class Control:
    """One control the written CIP may state (see the module docstring for each field)."""

    id: str
    section: str
    statement: Statement
    performed_by: tuple[str, ...]
    switch: str = "always on"
    enabled: Callable[[ControlContext], bool] = always
    requirements: tuple[str, ...] = ()
    term: str = ""
    group: str = ""
    position: int = 100
    module: str = field(default="", compare=False)

    @property
    def served(self) -> tuple[str, ...]:
        """The requirement ids the control serves (its section's, unless it names others)."""
        return self.requirements or ((self.section,) if self.section else ())

    def text(self, context: ControlContext) -> str:
        """The statement for ``context``, its fields filled in."""
        if callable(self.statement):
            return self.statement(context)
        return self.statement.format(policy=context.policy, profile=context.profile, context=context)


class UnknownControl(KeyError):
    """A control id that no module of the registry defines."""


def _discover() -> tuple[Control, ...]:
    found: list[Control] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda item: item.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for control in getattr(module, "CONTROLS", ()):
            found.append(replace(control, module=module.__name__))
    ids = [control.id for control in found]
    duplicates = sorted({name for name in ids if ids.count(name) > 1})
    if duplicates:
        raise ValueError(f"control ids defined twice: {', '.join(duplicates)}")
    return tuple(found)


_REGISTRY: tuple[Control, ...] | None = None


def all_controls() -> tuple[Control, ...]:
    """Every control of the registry, module by module (sorted by name), in each module's order."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _discover()
    return _REGISTRY


def control(control_id: str) -> Control:
    """The control called ``control_id``."""
    for candidate in all_controls():
        if candidate.id == control_id:
            return candidate
    raise UnknownControl(control_id)


def enabled_controls(context: ControlContext) -> list[Control]:
    """The controls the policy, profile and settings in force switch on, by ``position`` then in
    registry order."""
    return sorted((candidate for candidate in all_controls() if candidate.enabled(context)),
                  key=lambda candidate: candidate.position)


def is_enabled(context: ControlContext, control_id: str) -> bool:
    return control(control_id).enabled(context)


def resolve(path: str) -> Any:
    """The object a dotted path names (``cloudcip.verification.decision.decide``,
    ``cloudcip.verification.applications.ApplicationService.enforce_deadlines``); ``LookupError``
    when it does not exist."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                raise LookupError(f"{path}: {'.'.join(parts[:split])} has no {attribute!r}")
            target = getattr(target, attribute)
        return target
    raise LookupError(f"{path}: no such module")


def unresolved(controls: Iterable[Control]) -> list[str]:
    """The ``performed_by`` paths of ``controls`` that do not exist, as ``control id: path``."""
    missing = []
    for candidate in controls:
        for path in candidate.performed_by:
            try:
                resolve(path)
            except LookupError:
                missing.append(f"{candidate.id}: {path}")
    return missing
