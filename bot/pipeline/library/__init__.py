"""A member's film library: their watchlist, what they have seen, and imported history.

`imports` reads a Letterboxd or IMDb export into titles (pure: bytes in, titles out);
`export_files` knows each file's columns and what its rows mean.
"""
