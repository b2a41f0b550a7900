"""Every outbound connection of the project: media downloads, webhooks, provider SDK clients.

One name resolver with a deadline (``resolve``), one address policy and allow-list grammar
(``addresses``), connect-to-the-checked-address, one wall-clock deadline and byte cap per call
(``deadline``, ``download``, ``webhooks``, ``clients``), one backoff with Retry-After
(``backoff``) and one error tree (``errors``). It imports nothing else of the project and no
Dagster, so it can be read and tested alone; modules are imported by name (this file imports
nothing, so ``net.backoff`` does not pull in httpx).
"""
