"""The "Ozzy exports" page of the Airflow UI: an Airflow plugin (API server side, not the engine)."""
