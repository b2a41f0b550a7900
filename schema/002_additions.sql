-- media_analysis_dagster: tables added beside the seed's four (001_init.sql stays exactly the
-- seed). Only additions, every statement idempotent; n8n's tables and columns are untouched.
-- Apply with: psql -v ON_ERROR_STOP=1 -f schema/002_additions.sql   (or: media-analysis db init)

-- The budget ledger of a request while it runs: what its paid calls cost so far and what the
-- calls in flight may still cost. Kept out of media_analysis_requests.api_costs, which n8n reads;
-- the row is dropped when the request completes and goes with its request.
CREATE TABLE IF NOT EXISTS media_analysis_budget (
    request_id UUID PRIMARY KEY REFERENCES media_analysis_requests(request_id) ON DELETE CASCADE,
    spent_usd NUMERIC(20,12) NOT NULL DEFAULT 0,
    reserved_usd NUMERIC(20,12) NOT NULL DEFAULT 0,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

-- The callback outbox: one row per completion callback (delivery_id names the event, so the same
-- end recorded twice is one delivery), delivered and retried apart from the pipeline.
CREATE TABLE IF NOT EXISTS media_analysis_callbacks (
    callback_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id UUID NOT NULL REFERENCES media_analysis_requests(request_id) ON DELETE CASCADE,
    delivery_id VARCHAR(200) NOT NULL UNIQUE,
    url TEXT NOT NULL,
    payload JSONB NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    delivered_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX IF NOT EXISTS idx_callbacks_status_next_attempt ON media_analysis_callbacks(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS idx_callbacks_request_id ON media_analysis_callbacks(request_id);
