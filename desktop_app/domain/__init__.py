"""Pure rules of the review: states, roles, clock, findings. No Qt, no database."""
