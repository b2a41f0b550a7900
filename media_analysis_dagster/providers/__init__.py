"""Analysis providers behind one interface (see ``base.py``).

Providers return ``ProviderResult``s and never write rows: the ``analyze`` op does. Provider
SDKs are imported inside the provider classes so that loading the job definitions stays cheap.
"""
