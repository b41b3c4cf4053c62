"""A member's film library: their watchlist, what they have seen, and imported history.

    imports.py       read a Letterboxd or IMDb export into titles (pure: bytes in)
    export_files.py  which file of an export a CSV is, and what its rows mean
    service.py       `Library` (the facade's `pipeline.library`): store an import in one
                     transaction, match and embed it in the background, save picks,
                     the watchlist, erasing imports
    matching.py      library titles in the film catalogue (grounding's `Catalogue`)
    lessons.py       what the library teaches the next prompt
    relevance.py     which of many titles a prompt names: the most similar to the request

The records live in `records/library.py`; the words in `bot/presentation_library.py`.
"""
