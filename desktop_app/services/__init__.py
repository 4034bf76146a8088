"""Use cases. Each owns its transaction and writes its audit event inside it; no Qt."""
