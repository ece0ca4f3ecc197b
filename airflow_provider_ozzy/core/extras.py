"""Which extra of the package brings the Python packages a module needs.

A module names what it imports when it runs (``requires``); validation checks they are installed,
so a missing one is one line naming the module and the ``pip install`` that brings it, when the
config is checked, instead of a traceback from deep inside the first request.
"""

from __future__ import annotations

import importlib.util

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
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or the name is blocked (None)
        return False


def missing_requirements(requires: tuple[str, ...]) -> list[str]:
    """One sentence per required module that is not installed, with the command that installs it."""
    return [
        f"needs the Python package '{module}', which is not installed: "
        f"pip install '{PACKAGE}[{EXTRA_OF[module]}]'"
        for module in requires
        if not installed(module)
    ]
