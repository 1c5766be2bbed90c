"""Typed commands, one module per bounded context, each with its handlers.

Each module defines its commands (frozen dataclasses naming their rule and
target) and a `handlers(...)` function pairing each command class with the
function that carries it out; the composition root registers them all with
the one `Dispatcher`.
"""
