"""Public transport: the GTFS static feed, GTFS-Realtime vehicle positions, the simulated
network of Almaty, and the Spark jobs that turn pings and taps into stops, trips and headways."""
