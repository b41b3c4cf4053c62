"""One extension per feature; each module (or package) ends in `async def setup(bot)`."""
