"""Scale-out: splitting one export into shards (planning), Kafka partitions as shards, and the
check that the shards' outputs together are exact (check)."""
