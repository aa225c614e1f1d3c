"""Tests: target."""
