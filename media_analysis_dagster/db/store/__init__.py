"""Every query of the tables, behind one ``Store`` over one engine.

The store is split by concern, one mixin per module, all sharing ``StoreBase`` (the engine and
sessions); ``Store`` is their sum, so callers import one class:

- ``lifecycle``: create, claim, complete, fail, cancel a request (conditional updates);
- ``queries``: read requests (one with its children, statuses, lists, pages);
- ``children``: a request's results, files and contact sheets (``replace_rows``, the cache);
- ``ledger``: the budget ledger (``reserve_usd``/``settle_usd``, table ``media_analysis_budget``);
- ``retention``: expired and stuck requests, deleting requests;
- ``outbox``: the callback outbox (table ``media_analysis_callbacks``);
- ``search``: searchable segments and the search over them (table ``media_analysis_segments``).

Each method is one transaction: a multi-row write commits whole or not at all.
"""

from .base import ACTIVE, StoreBase
from .children import ChildRows
from .ledger import BudgetLedger
from .lifecycle import RequestLifecycle
from .outbox import CallbackOutbox
from .queries import RequestQueries
from .retention import Retention
from .search import SegmentSearch


class Store(
    RequestLifecycle,
    RequestQueries,
    ChildRows,
    BudgetLedger,
    Retention,
    CallbackOutbox,
    SegmentSearch,
):
    """The data layer: a thin, typed set of queries over one engine."""


__all__ = ["ACTIVE", "Store", "StoreBase"]
