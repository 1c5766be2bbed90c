"""Benchmarks (`make bench`): real servers, loopback only, bounded loops."""
