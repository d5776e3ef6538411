"""Usage accounting and the sync run that applies it."""
