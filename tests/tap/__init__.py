"""Tests: tap."""
