"""musickit.generation."""
