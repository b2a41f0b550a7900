"""The only code that touches ``dagster._core``: Dagster is pinned exactly, and
``private_api.py`` names every private symbol used so an upgrade that moves one fails in one
place, with one message (the guard test beside the other tests)."""
