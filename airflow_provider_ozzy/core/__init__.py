"""The ground floor: values and rules every layer above uses (options, items, retries, masking,
compression, file names). Imports nothing of Ozzy but ``errors`` and never imports Airflow."""
