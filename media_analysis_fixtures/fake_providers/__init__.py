"""A wire-level fake of the provider APIs (OpenAI-compatible chat/transcriptions, Deepgram).

Tests run the real SDK clients against it; ``python -m media_analysis_fixtures.fake_providers``
serves it for manual runs (``make dev``) and prints the base-URL variables to export.
"""

from .records import FakeResponse, RecordedRequest
from .server import PROVIDER_PREFIXES, FakeProviders

__all__ = ["PROVIDER_PREFIXES", "FakeProviders", "FakeResponse", "RecordedRequest"]
