"""What ``check_consistency`` finds wrong with one stored object, for every object store.

Azure Blob, Azure Files and GCS each give an object's size and hex MD5 (``properties``); one
comparison turns them into the same messages for all three.
"""

from __future__ import annotations


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
