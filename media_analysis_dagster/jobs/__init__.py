"""The two jobs: ``media_analysis_job`` (one run per request) and ``retention_cleanup_job``."""

from .media_analysis import media_analysis_job
from .retention import retention_cleanup_job

__all__ = ["media_analysis_job", "retention_cleanup_job"]
