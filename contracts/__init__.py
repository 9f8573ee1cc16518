"""Written data contracts of the city's sources, and the pandera schemas built from them."""
