"""The request's cost cap, kept in the database so every call of the request shares it.

The ``analyze`` steps of one request run at the same time on threads of the run worker, and a
re-executed run (another process, maybe another machine) works on the same request: a cap
checked against what was spent before a call lets all of them pass together. ``StoreBudget``
is the ``providers.chain.Budget`` that reserves through ``Store.reserve_usd`` (one transaction,
the request row locked) and settles through ``Store.settle_usd``.
"""

from __future__ import annotations

from ..db.store import Store
from ..providers.chain import Reservation


class StoreBudget:
    """``Budget`` of one request over the store; without a cap it touches no row."""

    def __init__(self, store: Store, request_id: str, max_usd: float | None) -> None:
        self.store, self.request_id = store, request_id
        self._max_usd = max_usd

    @property
    def max_usd(self) -> float | None:
        return self._max_usd

    def reserve(self, amount_usd: float) -> Reservation:
        if self._max_usd is None:
            return Reservation(True, amount_usd)
        granted, spent, held = self.store.reserve_usd(self.request_id, amount_usd, self._max_usd)
        return Reservation(granted, amount_usd, spent, held)

    def settle(self, reservation: Reservation, actual_usd: float) -> None:
        if self._max_usd is None or not reservation.granted:
            return
        self.store.settle_usd(self.request_id, reservation.amount_usd, actual_usd)
