"""Read models: projections that turn events into views, each tracked exactly once."""
