"""Reviewing one submission: the detail pane, workflow actions, findings, evidence, history."""
