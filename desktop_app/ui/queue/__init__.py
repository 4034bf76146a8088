"""The queue: its model, filters, columns and My work."""
