"""The engine: configs, the module registry, the commit protocol and the docs built from them.

It knows module kinds only by name (``registry``), so it imports no module class at import time and
never imports Airflow; the exporter (``export_managers``) and the CLI sit on top of it."""
