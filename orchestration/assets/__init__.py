"""Assets, one module per source or domain."""
