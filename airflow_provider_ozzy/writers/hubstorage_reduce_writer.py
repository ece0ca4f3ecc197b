"""ReduceWriter that also keeps its accumulator in a Scrapy Cloud collection, under one key.

After every batch with items the value ``{<accumulator's fields> or value: <accumulator>, _key: key,
_finished: false}`` is stored; at the end the same with ``_finished: true``. The job state, not the
collection, is what a resume continues from: a crash after a store and before the commit leaves the
collection one batch ahead until the resume stores the refolded value (the same one), so readers
should trust a value only once ``_finished`` is true.

The collection is ``collection_url`` (exporters' form, ``https://app.scrapinghub.com/p/<project>/
collections/s/<name>``; any host is accepted) or ``project_id`` with ``collection_name``.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_ozzy.core.errors import OzzyError, WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.expressions.reduce_values import plain
from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.services.scrapy_cloud import (
    CollectionAccess,
    connection_options,
    connection_problems,
    name_problem,
    project_id_option,
)
from airflow_provider_ozzy.writers.reduce_writer import ReduceWriter

COLLECTION_URL = re.compile(r"/p/(\d+)/collections/s/(\w+)/?$")


def _collection(values: dict[str, Any]) -> tuple[str, str] | None:
    if values["collection_url"]:
        found = COLLECTION_URL.search(values["collection_url"])
        return (found[1], found[2]) if found else None
    if values["project_id"] is not None and values["collection_name"]:
        return str(values["project_id"]), values["collection_name"]
    return None


class HubstorageReduceWriter(ReduceWriter):
    """Folds items like ReduceWriter and stores the accumulator under ``key`` in a collection."""

    supported_options = {
        **connection_options(),
        "collection_url": {
            "type": (str, type(None)),
            "default": None,
            "help": "Collection URL .../p/<project>/collections/s/<name> (or project_id + collection_name).",
        },
        "project_id": project_id_option(optional=True),
        "collection_name": {"type": (str, type(None)), "default": None, "help": "Store collection name."},
        "key": {"type": str, "help": "Key under which the accumulator is stored."},
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        found = _collection(self.options)
        assert found is not None  # check_values
        self.access = CollectionAccess(self.label, self.options, found[0], found[1])

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values) + connection_problems(values)
        given = (
            bool(values["collection_url"]),
            values["project_id"] is not None or bool(values["collection_name"]),
        )
        if given[0] == given[1]:
            problems.append(
                Problem(
                    "collection_url",
                    "give option 'collection_url', or options 'project_id' and 'collection_name' (not both)",
                )
            )
        elif _collection(values) is None:
            option = "collection_url" if given[0] else "collection_name"
            problems.append(
                Problem(
                    option,
                    f"option 'collection_url' must end in /p/<project>/collections/s/<name>, got {values['collection_url']!r}"
                    if given[0]
                    else "options 'project_id' and 'collection_name' are both required",
                )
            )
        elif not given[0]:
            problem = name_problem("collection_name", values["collection_name"])
            if problem:
                problems.append(problem)
            if not str(values["project_id"]).isdigit():
                problems.append(
                    Problem(
                        "project_id", f"option 'project_id' must be a number, got {values['project_id']!r}"
                    )
                )
        if not values["key"]:
            problems.append(Problem("key", "option 'key' must not be empty"))
        return problems

    def write_batch(self, groups: dict[GroupKey, list[dict[str, Any]]], batch_number: int) -> None:
        before = self.items_reduced
        super().write_batch(groups, batch_number)
        if self.items_reduced != before:
            self._store(finished=False)

    def finish_writing(self) -> None:
        super().finish_writing()
        self._store(finished=True)

    def _store(self, finished: bool) -> None:
        value = plain(self.accumulator)
        stored = dict(value) if isinstance(value, dict) else {"value": value}
        stored.update(_key=self.options["key"], _finished=finished)
        try:
            self.access.set([stored])
        except OzzyError as error:
            raise WriterError(str(error)) from None
