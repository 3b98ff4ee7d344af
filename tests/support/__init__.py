"""Helpers the tests share: builders of rows and warehouses, fakes' processes, ports."""
