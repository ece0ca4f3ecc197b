# The Airflow image of the docker-compose.yaml playground: the official Airflow image with Ozzy and
# the extras of the playground's servers installed once, at build time (`docker compose build`, or
# the first `docker compose up`), instead of at every container start.
#
# Installed the way Airflow's docs extend the image: pinning apache-airflow to the image's own
# version (so pip can never up- or downgrade it) and with the constraints file the image was built
# with (${HOME}/constraints.txt, Airflow's constraints for this version and Python), so the providers
# already in the image keep their tested versions.
#
# Ozzy is installed in editable mode from /opt/ozzy: docker-compose.yaml mounts the repository there,
# so edits to the code show up after a restart of the services; rebuild after changing pyproject.toml.
FROM apache/airflow:3.3.2-python3.11

ARG OZZY_EXTRAS=amazon,azure,sftp,ftp,kafka

COPY --chown=airflow:0 . /opt/ozzy
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        --editable "/opt/ozzy[${OZZY_EXTRAS}]" \
        --constraint "${HOME}/constraints.txt" \
    && python -c "import airflow_provider_ozzy"
