"""Test doubles that speak the real protocols: Ollama (HTTP/NDJSON) and Discord (REST + gateway)."""
