"""Thin ops: each calls ``media/`` or ``providers/`` and writes through the store.

Values passed between steps are plain JSON-ready dicts (paths, ids, facts), so the UI can show
them and any IO manager can store them. Each step writes its files into
``requests/<request_id>/<step>/`` (emptied first) and its rows with ``Store.replace_rows``,
which is what makes re-executing a step replace, not duplicate, its output.
"""
