"""The typed values that pass between the ops of ``media_analysis_job``.

Every op input and output is one of these frozen dataclasses, so Dagster checks each value
at the step boundary (an ``isinstance`` check on the annotated type) and the UI shows their
names instead of ``Dict[String, Any]``. They hold *references* to what a step made — an
``ArtifactRef`` per file: where it is stored, its key, size, checksum and MIME type — never file
contents, so a step can move its files to object storage without changing its neighbours.

The flow (``docs/architecture.md``)::

    RequestSpec ─► FetchedMedia ─┬─► VideoFrames ─► ContactSheets ─┐
                                 ├─► AudioTrack ───────────────────┤  (each a ``Branch``)
                                 └─► DocumentText ─────────────────┤
                                                                   ▼
                     PlannedTask (one per mapped ``analyze``) ─► TaskOutcome
                                                                   ▼
                                          AnalysisSummary ─► CompletedRequest
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .media.audio import AudioInfo
from .media.documents import DocumentInfo
from .media.frames import ExtractedFrame
from .media.probe import VideoInfo
from .media.scenes import SceneMotionResult
from .providers.base import AnalysisTask, ProviderResult


@dataclass(frozen=True)
class ArtifactRef:
    """One stored file: ``location`` is the seed's ``media_files.storage_location``."""

    location: str  # 'local' | 's3' | 'r2' | 'gcs'
    key: str  # what media_files.file_path records
    size_bytes: int
    sha256: str | None
    mime_type: str | None
    local_path: str | None = None  # this run worker's copy, while the run lasts
    remote_url: str | None = None

    @property
    def path(self) -> Path:
        """The local file steps read (the scratch copy)."""
        return Path(self.local_path or self.key)

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class RequestSpec:
    """What ``register_request`` claimed or created, with the options every step reads."""

    request_id: str
    media_type: str
    media_url: str | None
    media_path: str | None
    prompt: str | None
    providers: tuple[str, ...] | None
    provider_options: dict[str, Any] = field(default_factory=dict)
    frame_count: int | None = None
    grid_cols: int = 2
    grid_rows: int = 3
    accurate_frames: bool = False
    scene_aware: bool = False  # frames placed by scene (media/frames.scene_targets)
    callback_url: str | None = None
    use_cache: bool = True  # reuse an earlier request's AI results (pipeline/cache.py)


@dataclass(frozen=True)
class FetchedMedia:
    """The stored original, validated by content and probed; ``media_type`` is resolved."""

    request_id: str
    media_type: str
    original: ArtifactRef
    mime_type: str
    source: str
    file_id: str
    video: VideoInfo | None = None
    audio: AudioInfo | None = None
    pdf: dict[str, Any] | None = None

    @property
    def file_name(self) -> str:
        return self.original.name

    def facts(self) -> dict[str, Any]:
        """What the analyses may state about the original (no paths)."""
        facts: dict[str, Any] = {
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size_bytes": self.original.size_bytes,
            "sha256": self.original.sha256,
            "video": self.video.to_dict() if self.video else None,
            "audio": self.audio.to_dict() if self.audio else None,
            "pdf": self.pdf,
        }
        return {k: v for k, v in facts.items() if v is not None}


@dataclass(frozen=True)
class VideoFrames:
    """Frames taken at evenly spaced times (``media/frames.py``), one artifact each; with
    ``scene_aware``, the scenes detected to place them (reused by the scene analysis, so a
    request decodes its video for scenes once)."""

    request_id: str
    video: VideoInfo
    file_name: str
    frames: tuple[ExtractedFrame, ...]
    artifacts: tuple[ArtifactRef, ...]
    accurate: bool
    scenes: SceneMotionResult | None = None


@dataclass(frozen=True)
class Branch:
    """What a media branch hands to the analyses; ``plan_analyses`` fans them in."""

    request_id: str

    def facts(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class SheetRef:
    artifact: ArtifactRef
    sheet_number: int
    frame_indexes: tuple[int, ...]


@dataclass(frozen=True)
class ContactSheets(Branch):
    frames: VideoFrames
    sheets: tuple[SheetRef, ...]

    def facts(self) -> dict[str, Any]:
        return {"frames": len(self.frames.frames), "contact_sheets": len(self.sheets)}


@dataclass(frozen=True)
class AudioTrack(Branch):
    """The 16 kHz mono WAV every audio analysis reads; ``source`` is the original's track."""

    wav: ArtifactRef
    info: AudioInfo
    source: AudioInfo | None = None

    def facts(self) -> dict[str, Any]:
        return {"wav": self.info.to_dict()}


@dataclass(frozen=True)
class DocumentText(Branch):
    """Extracted text (a file, so large documents are not copied between steps) and pages."""

    info: DocumentInfo
    text: ArtifactRef
    page_images: tuple[ArtifactRef, ...]

    def facts(self) -> dict[str, Any]:
        return {"document": self.info.to_dict()}


@dataclass(frozen=True)
class PlannedTask:
    """One mapped ``analyze`` step: its mapping key, who runs it, and the task's references.

    The task holds paths and facts, not file contents: a document's text stays in its artifact
    (``text``) and is read by the step that runs the task (``resolved``).
    """

    key: str
    kind: str  # 'internal' | 'chain'
    task: AnalysisTask
    text: ArtifactRef | None = None
    providers: tuple[str, ...] | None = None  # the request's choice; None = every enabled one
    cache_key: str | None = None  # what the analysis cache matches (pipeline/cache.py); None: never
    use_cache: bool = True  # look the key up before paying (run config ``use_cache``)

    @property
    def result_type(self) -> str:
        return self.task.result_type

    def resolved(self, local: Callable[[ArtifactRef], Path] | None = None) -> AnalysisTask:
        """The task with the document text loaded (``local`` gives the artifact's file)."""
        if self.text is None:
            return self.task
        path = local(self.text) if local else self.text.path
        return replace(self.task, document_text=path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TaskOutcome:
    """What one ``analyze`` step produced: results (rows written) and every attempt."""

    key: str
    result_type: str
    kind: str
    results: tuple[ProviderResult, ...]
    attempts: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class AnalysisSummary:
    """``aggregate``'s view of the whole request, what ``complete_request`` records."""

    provider_chain: tuple[dict[str, Any], ...]
    api_costs: dict[str, Any]
    confidence: float | None
    provider_errors: tuple[dict[str, Any], ...]
    missing_result_types: tuple[str, ...]
    result_types: tuple[str, ...] = ()
    summary: str | None = None


@dataclass(frozen=True)
class CompletedRequest:
    request_id: str
    status: str | None
