"""Adapters to the outside world and the composition root (`bootstrap`)."""
