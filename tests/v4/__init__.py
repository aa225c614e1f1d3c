"""Tests: v4."""
