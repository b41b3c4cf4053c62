"""The Discord front end: a discord.py bot over the shared pipeline (`python -m bot`)."""
