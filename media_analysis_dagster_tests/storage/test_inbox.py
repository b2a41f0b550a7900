"""A bucket URL refused as an input is one sentence naming the URL and where uploads belong.

(Which keys are refused is tested with the resources, ``test_resources.py``; here, how the
refusal reads.)
"""

from __future__ import annotations

import pytest

from media_analysis_dagster.storage import StorageConfig
from media_analysis_dagster.storage.errors import StorageError
from media_analysis_dagster.storage.inbox import inbox_key, shown_url

BUCKET = StorageConfig(kind="s3", bucket="media", prefix="ma/")
UPLOADS = "s3://media/ma/inbox/"


@pytest.mark.parametrize(
    ("url", "config", "names"),
    [
        ("s3://media/ma/inbox/a.mp4", StorageConfig(kind="local"), ("MEDIA_ANALYSIS_STORAGE",)),
        ("s3://other/ma/inbox/a.mp4", BUCKET, (UPLOADS, "upload the file")),
        ("s3://media/elsewhere/a.mp4", BUCKET, (UPLOADS, "prefix 'ma/'")),
        ("s3://media/ma/inbox/../requests/x/a.mp4", BUCKET, ("clean object key",)),
        ("s3://media/ma/requests/x/original/a.mp4", BUCKET, (UPLOADS, "INBOX_PREFIX")),
    ],
)
def test_a_refusal_names_the_url_and_where_uploads_go(
    url: str, config: StorageConfig, names: tuple[str, ...]
) -> None:
    with pytest.raises(StorageError) as caught:
        inbox_key(f"{url}?X-Amz-Signature=secret", config, "inbox/")
    message = str(caught.value)
    assert url in message and "secret" not in message and "Signature" not in message
    assert "\n" not in message and "Error" not in message
    for name in names:
        assert name in message, (name, message)


def test_shown_url_drops_credentials_query_and_control_characters() -> None:
    assert shown_url("s3://key:secret@media/inbox/a.mp4?x=1#y") == "s3://media/inbox/a.mp4"
    assert shown_url("gs://media/in\nbox/\ta.mp4") == "gs://media/in box/ a.mp4"
    long = shown_url("s3://media/" + "k" * 500)
    assert len(long) == 200 and long.endswith("…")
