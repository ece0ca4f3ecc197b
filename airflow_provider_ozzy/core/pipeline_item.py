"""The base of every module: option resolution at construction, a logger, and a close hook."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.core.options import Problem, ResolvedOptions, merged_options, resolve_options


class PipelineItem:
    """A configurable module. Subclasses declare ``supported_options`` and override hooks.

    Construction never touches the network (it runs at DAG parse time); services are reached
    from ``open()`` or the first batch.
    """

    kind: ClassVar[str] = "module"
    supported_options: ClassVar[dict[str, dict[str, Any]]] = {}
    # modules it imports when it runs, each brought by an extra (``core.extras.EXTRA_OF``), and
    # those it imports only when an option is set (an Airflow connection id: the provider's hook)
    requires: ClassVar[tuple[str, ...]] = ()
    requires_when_set: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        if isinstance(options, ResolvedOptions):  # validated and resolved once, by the engine
            values = dict(options)
        else:
            values, problems = self.resolve(options)
            if problems:
                raise ConfigurationError(errors=[self.describe(problem) for problem in problems])
        self.options: dict[str, Any] = values
        self.log = logging.getLogger(f"airflow_provider_ozzy.{self.kind}")

    @classmethod
    def required_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        """What a section with these (raw) options imports when it runs."""
        extra = (
            module
            for option, modules in cls.requires_when_set.items()
            if options.get(option)
            for module in modules
        )
        return (*cls.requires, *extra)

    @classmethod
    def resolve(cls, options: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[Problem]]:
        """Resolve options and run the module's own checks; returns values and every problem."""
        declared = merged_options(cls)
        values, problems = resolve_options(declared, options)
        # Cross-option checks need every option; an unknown extra option must not hide them.
        if all(name in values for name in declared):
            own = cls.check_values(values)
            # a module's own message about an option (e.g. 'must be positive') replaces the
            # generic out-of-range one, so each problem is reported once
            explained = {problem.option for problem in own if problem.option}
            problems = [problem for problem in problems if problem.option not in explained] + own
        return values, problems

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        """Checks across options, without network access. Return problems, never raise."""
        return []

    @classmethod
    def describe(cls, problem: Problem) -> str:
        return f"{cls.kind} {cls.__name__}: {problem.message}"

    def read_option(self, name: str) -> Any:
        return self.options[name]

    def close(self) -> None:
        """Release resources; safe to call more than once."""
