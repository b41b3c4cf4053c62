"""Tests of the shared pipeline (mirrors bot/pipeline)."""
