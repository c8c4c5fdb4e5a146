"""musickit.losses."""
