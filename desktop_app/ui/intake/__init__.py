"""Bringing submissions in: package import and registration by hand."""
