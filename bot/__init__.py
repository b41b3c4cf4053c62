"""suggest.watch: movie and show picks from each member's own tastes, on a local AI stack."""
