"""Airflow hooks Ozzy adds where no provider hook fits: Kafka over kafka-python, Scrapy Cloud."""
