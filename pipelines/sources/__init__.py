"""The city's sources. Each is the same shape: a contract (in `contracts/`), a simulator that
writes landing files in the contract's format, the shared bronze boundary
(`pipelines.ingest`), and a Spark silver job."""
