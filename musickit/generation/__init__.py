"""musickit.generation: samplers, logits processors and decoding loops."""
