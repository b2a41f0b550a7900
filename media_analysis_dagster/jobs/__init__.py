"""The two jobs: ``media_analysis_job`` (one run per request) and ``retention_cleanup_job``."""

from .media_analysis import media_analysis_job
from .retention import MAINTENANCE_TAG, retention_cleanup_job

__all__ = ["MAINTENANCE_TAG", "media_analysis_job", "retention_cleanup_job"]
