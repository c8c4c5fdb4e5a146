"""musickit.layers."""
