"""Behaviour every adapter of a storage port keeps, written once; a test class per adapter inherits it."""
