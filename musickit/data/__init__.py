"""musickit.data."""
