"""Thin route modules: parse, check, charge, call the engine, shape the answer."""
