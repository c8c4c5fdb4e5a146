"""musickit.models."""
