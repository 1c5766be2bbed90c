"""The sync2gear domain model: aggregates, their events and pure policies.

Nothing here does I/O or reads the clock: time and the acting party are
passed in by the application layer.
"""
