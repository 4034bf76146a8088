"""Letters and conditions: preview, signing, viewer, verification, trust, register, printed letters."""
