"""Old module path of KeyValueRegexFilter (exporters' deprecated ``key_value_regex_filter``)."""

from airflow_provider_ozzy.filters.key_value_filters import KeyValueRegexFilter

__all__ = ["KeyValueRegexFilter"]
