"""Which extra of the package brings the Python packages a module needs.

A module names what it imports when it runs (``requires``); validation checks they are installed,
so a missing one is one line naming the module and the ``pip install`` that brings it, when the
config is checked, instead of a traceback from deep inside the first request.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

PACKAGE = "airflow-provider-ozzy"

# the importable name that tells an extra is installed -> that extra (pyproject's optional-dependencies)
EXTRA_OF = {
    "boto3": "amazon",
    "azure.storage.blob": "azure",
    "azure.storage.fileshare": "azure",
    "google.cloud.storage": "google",
    "paramiko": "sftp",
    "airflow.providers.sftp": "sftp",
    "airflow.providers.ftp": "ftp",
    "kafka": "kafka",
    "pyarrow": "parquet",
}


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it or its parent packages:
    ``importlib.util.find_spec('airflow.providers.sftp')`` would import ``airflow``, seconds of
    start-up the ``ozzy`` command never pays otherwise. A name set to ``None`` in ``sys.modules``
    counts as missing, as it does for ``import``."""
    parts = module.split(".")
    if any(sys.modules.get(".".join(parts[:depth]), True) is None for depth in range(1, len(parts) + 1)):
        return False
    top = sys.modules.get(parts[0])
    if top is not None:
        folders = list(getattr(top, "__path__", None) or [])
    else:
        spec = importlib.util.find_spec(parts[0])  # a top-level name: nothing is imported
        if spec is None:
            return False
        folders = list(spec.submodule_search_locations or [])
    for depth, part in enumerate(parts[1:], start=2):
        packages = [
            os.path.join(folder, part) for folder in folders if os.path.isdir(os.path.join(folder, part))
        ]
        if not packages and depth == len(parts):  # a module file ends the name
            return any(
                os.path.isfile(os.path.join(folder, part + suffix))
                for folder in folders
                for suffix in importlib.machinery.all_suffixes()
            )
        folders = packages
    return bool(folders) or len(parts) == 1


def missing_requirements(requires: tuple[str, ...]) -> list[str]:
    """One sentence per required module that is not installed, with the command that installs it."""
    return [
        f"needs the Python package '{module}', which is not installed: "
        f"pip install '{PACKAGE}[{EXTRA_OF[module]}]'"
        for module in requires
        if not installed(module)
    ]
