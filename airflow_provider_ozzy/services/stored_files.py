"""What the object store connections (S3, Azure Blob, Azure Files, GCS) share, written once.

Azure and GCS give an object's size and hex MD5 (``properties``), which one comparison turns into
the same ``check_consistency`` messages; all of them tell a missing Airflow connection the same way.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.errors import OzzyError, permanent


def require_connection(
    hook_class: Any, conn_id: str, conn_option: str, module: str, place: str, error_class: type[OzzyError]
) -> None:
    """Fail with ``error_class`` naming the option and the place when Airflow has no ``conn_id``
    (the hooks' own error would not say which option or which bucket); other errors pass."""
    try:
        hook_class.get_connection(conn_id)
    except Exception as error:
        if type(error).__name__ in ("AirflowNotFoundException", "ConnectionNotFoundError"):
            raise permanent(
                error_class(
                    f"{module}: Airflow connection '{conn_id}' (option '{conn_option}') is not "
                    f"defined; {place} cannot be reached"
                )
            ) from None
        raise


def stored_differences(
    where: str, found: tuple[int, str | None] | None, size: int, md5: str | None
) -> list[str]:
    """How the object at ``where`` (its ``(size, md5)``, ``None`` if absent) differs from what was sent.

    :return: one message, or none when the object matches.
    """
    if found is None:
        return [f"{where} is not present at the destination"]
    found_size, found_md5 = found
    if found_size != size:
        return [f"{where} has {found_size} bytes, expected {size}"]
    if found_md5 != md5:
        return [f"{where} has md5 {found_md5}, expected {md5}"]
    return []
