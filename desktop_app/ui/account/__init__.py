"""Signing in and the user's own account."""
