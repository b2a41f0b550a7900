"""A ``dagster.Failure`` whose failure event shows one sentence, no class name and no stack.

Dagster 1.13 turns a step's exception into the event's error info with
``serializable_error_info_from_exc_info``, which "hoists" a ``DagsterUserCodeProcessError``: it
copies that error's own ``user_code_process_error_infos`` into the event as they are, instead of
the exception's class name and traceback. A plain ``Failure`` always shows
``dagster._core.definitions.events.Failure: …`` and a stack in the UI, and nothing public
prevents that. ``HoistedFailure`` is both: a ``Failure`` (the step fails at once, its metadata
shows, no retry policy) whose error info is the sentence alone, with the original error's class
name kept in ``cls_name`` (not shown; the run-status sensor reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Failure

from .private_api import DagsterUserCodeProcessError, SerializableErrorInfo


class HoistedFailure(DagsterUserCodeProcessError, Failure):  # type: ignore[misc, valid-type]
    def __init__(self, sentence: str, metadata: Mapping[str, Any], cls_name: str) -> None:
        Failure.__init__(self, description=sentence, metadata=dict(metadata), allow_retries=False)
        self.user_code_process_error_infos = [
            SerializableErrorInfo(message=sentence, stack=[], cls_name=cls_name)
        ]
