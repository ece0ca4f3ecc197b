"""Old module path of KeyValueFilter (exporters' deprecated ``key_value_filter``)."""

from airflow_provider_ozzy.filters.key_value_filters import KeyValueFilter

__all__ = ["KeyValueFilter"]
