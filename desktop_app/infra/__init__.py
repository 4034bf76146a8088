"""Paths, resources, logging and typed settings: the plumbing every layer may use."""
