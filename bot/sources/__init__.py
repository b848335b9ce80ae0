"""Intake sources: monitoring tools' own JSON mapped to posts, their secrets, and imports."""
