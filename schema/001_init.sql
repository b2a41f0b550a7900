-- media_analysis_dagster: the four tables of the seed design (media-analysis-schema-prd.md,
-- "Schema Definition"), exactly: columns, types, defaults, CHECKs, foreign keys and indexes.
-- n8n reads these tables directly: treat them as a contract. Later changes go into new
-- numbered files that only add, and every statement here is idempotent.
-- Apply with: psql -v ON_ERROR_STOP=1 -f schema/001_init.sql   (or: media-analysis db init)

CREATE TABLE IF NOT EXISTS media_analysis_requests (
    request_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    media_type VARCHAR(20) NOT NULL CHECK (media_type IN ('video', 'audio', 'document', 'auto')),
    status VARCHAR(30) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    prompt TEXT,
    media_url TEXT,
    media_path TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,
    processing_time_ms INTEGER,
    confidence_score DECIMAL(5,4),
    error_message TEXT,
    error_details JSONB,
    user_metadata JSONB DEFAULT '{}',
    created_by VARCHAR(100),
    source_endpoint VARCHAR(100),
    provider_chain JSONB DEFAULT '[]',
    api_costs JSONB DEFAULT '{}'
);

CREATE INDEX IF NOT EXISTS idx_media_requests_status ON media_analysis_requests(status);
CREATE INDEX IF NOT EXISTS idx_media_requests_created_at ON media_analysis_requests(created_at DESC);
CREATE INDEX IF NOT EXISTS idx_media_requests_media_type ON media_analysis_requests(media_type);
CREATE INDEX IF NOT EXISTS idx_media_requests_status_created ON media_analysis_requests(status, created_at DESC);

CREATE TABLE IF NOT EXISTS media_analysis_results (
    result_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id UUID NOT NULL REFERENCES media_analysis_requests(request_id) ON DELETE CASCADE,
    result_type VARCHAR(50) NOT NULL CHECK (result_type IN (
        'transcription', 'vision_analysis', 'summary', 'classification',
        'object_detection', 'scene_detection', 'audio_analysis', 'text_analysis',
        'face_detection', 'motion_analysis', 'metadata_extraction'
    )),
    provider VARCHAR(50) NOT NULL CHECK (provider IN (
        'minimax', 'deepgram', 'groq', 'openai', 'google', 'anthropic', 'internal'
    )),
    model_name VARCHAR(100),
    content TEXT,
    content_json JSONB,
    confidence_score DECIMAL(5,4),
    processing_time_ms INTEGER,
    token_count INTEGER,
    cost_usd DECIMAL(10,6),
    metadata JSONB DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_results_request_id ON media_analysis_results(request_id);
CREATE INDEX IF NOT EXISTS idx_results_result_type ON media_analysis_results(result_type);
CREATE INDEX IF NOT EXISTS idx_results_provider ON media_analysis_results(provider);
CREATE INDEX IF NOT EXISTS idx_results_created_at ON media_analysis_results(created_at DESC);

CREATE TABLE IF NOT EXISTS media_files (
    file_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id UUID NOT NULL REFERENCES media_analysis_requests(request_id) ON DELETE CASCADE,
    file_type VARCHAR(30) NOT NULL CHECK (file_type IN (
        'frame', 'contact_sheet', 'audio', 'transcription', 'document',
        'thumbnail', 'preview', 'original', 'processed', 'archive'
    )),
    file_path TEXT NOT NULL,
    file_name VARCHAR(255),
    file_size_bytes BIGINT,
    mime_type VARCHAR(100),
    width INTEGER,
    height INTEGER,
    duration_seconds DECIMAL(10,3),
    frame_number INTEGER,
    sequence_order INTEGER,
    checksum VARCHAR(64),
    storage_location VARCHAR(50) DEFAULT 'local' CHECK (storage_location IN ('local', 'r2', 's3', 'gcs')),
    remote_url TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_files_request_id ON media_files(request_id);
CREATE INDEX IF NOT EXISTS idx_files_file_type ON media_files(file_type);
CREATE INDEX IF NOT EXISTS idx_files_created_at ON media_files(created_at DESC);
CREATE INDEX IF NOT EXISTS idx_files_mime_type ON media_files(mime_type);

CREATE TABLE IF NOT EXISTS contact_sheets (
    contact_sheet_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id UUID NOT NULL REFERENCES media_analysis_requests(request_id) ON DELETE CASCADE,
    file_id UUID REFERENCES media_files(file_id) ON DELETE SET NULL,
    grid_cols INTEGER NOT NULL DEFAULT 2,
    grid_rows INTEGER NOT NULL DEFAULT 3,
    frame_count INTEGER NOT NULL,
    frames_per_sheet INTEGER NOT NULL,
    sheet_number INTEGER,
    total_sheets INTEGER,
    frame_interval_seconds DECIMAL(10,3),
    image_width INTEGER,
    image_height INTEGER,
    thumbnail_width INTEGER,
    thumbnail_height INTEGER,
    generation_method VARCHAR(50) DEFAULT 'ffmpeg' CHECK (generation_method IN ('ffmpeg', 'opencv', 'custom')),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_contact_sheets_request_id ON contact_sheets(request_id);
CREATE INDEX IF NOT EXISTS idx_contact_sheets_file_id ON contact_sheets(file_id);
