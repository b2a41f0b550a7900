"""The table models: ``seed`` (the four tables of ``schema/001_init.sql``, n8n's contract),
``additions`` (the tables of ``schema/002_additions.sql``) and ``search`` (the segments of
``schema/003_search.sql``), all on one ``Base``.

Importing this package registers every table on ``Base.metadata``, which is what creates the
embedded SQLite database and what a test compares with ``schema/`` on PostgreSQL.
"""

from .additions import MediaAnalysisBudget, MediaAnalysisCallback
from .base import Base
from .search import MediaAnalysisSegment
from .seed import ContactSheet, MediaAnalysisRequest, MediaAnalysisResult, MediaFile

__all__ = [
    "Base",
    "ContactSheet",
    "MediaAnalysisBudget",
    "MediaAnalysisCallback",
    "MediaAnalysisRequest",
    "MediaAnalysisResult",
    "MediaAnalysisSegment",
    "MediaFile",
]
