"""A config given to the operator as YAML text (a rendered ``.yaml`` template) is read under the same
limits as a config file: an alias bomb or a duplicate key fails at once with a located message."""

from __future__ import annotations

import time

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

BOMB = "a: &a ['x','x','x','x','x','x','x','x','x','x']\n" + "".join(
    f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join(['*' + chr(97 + level)] * 10)}]\n"
    for level in range(8)
)


def test_an_alias_bomb_in_config_text_fails_fast_with_its_place() -> None:
    text = BOMB + "reader: {name: RandomReader}\nwriter: {name: ConsoleWriter}\n"
    started = time.monotonic()
    with pytest.raises(ConfigurationError) as caught:
        OzzyExportOperator(task_id="export", config=text)
    assert time.monotonic() - started < 10
    assert "task export config:" in str(caught.value) and "alias" in str(caught.value)


def test_a_duplicate_key_in_config_text_names_both_lines() -> None:
    text = "reader: {name: RandomReader}\nwriter: {name: ConsoleWriter}\nwriter: {name: FSWriter}\n"
    with pytest.raises(ConfigurationError) as caught:
        OzzyExportOperator(task_id="export", config=text)
    assert "task export config:3" in str(caught.value) and "line 2" in str(caught.value)
