"""musickit.representations."""
