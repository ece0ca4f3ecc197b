"""Access to the services Ozzy reads from and writes to, one file per service (S3 and AWS, GCS,
Azure, Kafka, Scrapy Cloud, SFTP, FTP, SQL columns), shared by their readers, writers and bypasses.
Airflow is imported only when a connection id is resolved."""
