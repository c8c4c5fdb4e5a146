"""musickit.tuning."""
