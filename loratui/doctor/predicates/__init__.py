"""Predicates: small named functions that compute the rules in `rules/*.toml`."""
