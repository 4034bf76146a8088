"""Administration: accounts, settings, backups."""
