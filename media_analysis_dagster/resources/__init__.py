"""Dagster resources, one module each, thin: they hold configuration as typed fields (what the
UI's resource view shows is what is in force; ``definitions.py`` fills them from ``Settings``,
secrets as ``EnvVar``) and hand out the objects of ``db/``, ``storage/``, ``net/`` and
``providers/`` that do the work."""

from .callbacks import CallbackResource
from .database import DatabaseResource
from .fetcher import FetcherResource
from .files import FileStorageResource
from .providers import ProvidersResource

__all__ = [
    "CallbackResource",
    "DatabaseResource",
    "FetcherResource",
    "FileStorageResource",
    "ProvidersResource",
]
