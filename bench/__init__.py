"""Benchmarks of suggest.watch against the fake Ollama and the fake Discord.

Each module is one runnable benchmark (`python -m bench.<name>`); `python -m bench.all`
runs them in turn. See bench/README.md. Nothing here is imported by the bot or the tests.
"""
