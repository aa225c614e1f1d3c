"""Tests: reliability."""
