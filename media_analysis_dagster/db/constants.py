"""The allowed values of the CHECK constraints (no SQLAlchemy import: ops use these)."""

MEDIA_TYPES = ("video", "audio", "document", "auto")
STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
RESULT_TYPES = (
    "transcription",
    "vision_analysis",
    "summary",
    "classification",
    "object_detection",
    "scene_detection",
    "audio_analysis",
    "text_analysis",
    "face_detection",
    "motion_analysis",
    "metadata_extraction",
)
PROVIDERS = ("minimax", "deepgram", "groq", "openai", "google", "anthropic", "internal")
FILE_TYPES = (
    "frame",
    "contact_sheet",
    "audio",
    "transcription",
    "document",
    "thumbnail",
    "preview",
    "original",
    "processed",
    "archive",
)
STORAGE_LOCATIONS = ("local", "r2", "s3", "gcs")
GENERATION_METHODS = ("ffmpeg", "opencv", "custom")
# ``media_analysis_callbacks.status`` (schema/002_additions.sql), not a seed table.
CALLBACK_STATUSES = ("pending", "delivered", "failed")
