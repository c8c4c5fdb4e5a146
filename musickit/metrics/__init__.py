"""musickit.metrics."""
