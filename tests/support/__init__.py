"""Helpers that several test modules share: plain functions, classes and constants.

Fixtures live in the conftest.py files; test modules import from here, never from each other.
"""
