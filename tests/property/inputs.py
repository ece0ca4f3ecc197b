"""How many hostile inputs each property test fed to Ozzy (printed by ``conftest``)."""

from __future__ import annotations

import collections

INPUTS_TRIED: collections.Counter[str] = collections.Counter()


def tried(what: str) -> None:
    """Count one input fed to Ozzy under the heading ``what``."""
    INPUTS_TRIED[what] += 1
