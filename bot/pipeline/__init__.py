"""The shared recommendation pipeline. It never imports discord."""
