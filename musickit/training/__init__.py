"""musickit.training."""
