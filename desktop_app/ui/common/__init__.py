"""What every feature of the window shares: errors, layouts, fields, theme, icons.

Nothing here imports a feature (queue, review, letters …) or an operation; the
import-linter contract "ui layers" in pyproject.toml keeps it so.
"""
