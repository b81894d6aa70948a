"""Four eyes (maker-checker) for the changes that matter: a change one person proposes takes effect
only when a second person of the right role approves it (B4, D1, A6)."""
