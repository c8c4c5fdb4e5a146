"""musickit.audio."""
