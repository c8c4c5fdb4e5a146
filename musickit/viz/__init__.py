"""musickit.viz."""
