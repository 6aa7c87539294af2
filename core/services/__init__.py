"""Services: take a session keyword-only, never commit; the caller owns the unit of work."""
