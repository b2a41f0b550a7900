"""An op config type that refuses, at launch, what Dagster's config types cannot describe.

Dagster checks run config in two places. The webserver checks it against the config schema
*snapshot* (types, enums, required and unknown fields): that is all the launchpad marks as you
type, and all ``launchRun`` checks itself. Then, before it creates the run, it asks the code
location for the execution plan, which processes the config again with each config type's
``post_process`` (``dagster._config.post_process``). A ``post_process`` that raises makes that
step fail, so no run is created and ``launchRun`` answers the error instead of
``LaunchRunSuccess``. Bounds and rules across fields (frame_count 1-200, exactly one of
media_url or media_path) can only be checked there.

What the caller sees depends on what is raised (measured on Dagster 1.13.27, see
``docs/graphql.md``):

- Dagster's ``PostProcessingError`` is caught and wrapped: ``launchRun`` answers a
  ``PythonError`` of class ``DagsterInvalidConfigError`` whose message repeats the whole config
  and embeds a stack trace around the sentence.
- Any other exception reaches the webserver as itself: a ``PythonError`` whose ``className`` is
  the exception's class and whose ``message`` is ``<module>.<class>: <sentence>``. That is the
  cleanest result Dagster 1.13 lets a code location give, so ``checked_shape`` lets the
  checker's own exception through.

Private: ``Shape`` is public, but ``post_process`` and the way ``Shape.__new__`` memoizes
instances by field hash (a subclass must make its own instance, or it silently gets a plain
``Shape``) are not. ``private_api.py`` names the module this relies on, and the tests of the
request launch (``pipeline/test_request_launch.py`` beside the other tests) check the behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dagster import Field, Shape


class _CheckedShape(Shape):
    """A strict ``Shape`` whose processed value must pass ``check``."""

    _check: Callable[[Mapping[str, Any]], object]

    def __new__(cls, *args: Any, **kwargs: Any) -> _CheckedShape:
        # Shape.__new__ returns a cached plain Shape for the same fields: make our own.
        instance = object.__new__(cls)
        instance._initialized = False
        return instance

    def __init__(
        self,
        fields: Mapping[str, Field],
        description: str,
        check: Callable[[Mapping[str, Any]], object],
    ) -> None:
        super().__init__(fields, description=description)
        self._check = check

    def post_process(self, value: Any) -> Any:
        """Runs where Dagster builds the execution plan (launch) and in the run worker; the
        checker's exception propagates as itself (see the module docstring)."""
        self._check(value)
        return value


def checked_shape(
    fields: Mapping[str, Field],
    check: Callable[[Mapping[str, Any]], object],
    *,
    description: str,
) -> Field:
    """An op's ``config_schema``: ``fields`` (e.g. ``SomeConfig.to_fields_dict()``, so the
    launchpad shows the same types, enums, defaults and descriptions), whose value, defaults
    filled in, must pass ``check`` before Dagster creates a run. ``check`` raises to refuse."""
    return Field(_CheckedShape(fields, description, check), description=description)
