"""Tests of suggest.watch."""
