"""Every value that passes between the ops of ``media_analysis_job`` is a named type from
``contracts.py`` (so Dagster checks it at each step boundary and the UI shows its name)."""

from __future__ import annotations

import typing

from media_analysis_dagster import contracts
from media_analysis_dagster.definitions import defs

CONTRACT_TYPES = {
    obj
    for obj in vars(contracts).values()
    if isinstance(obj, type) and obj.__module__ == contracts.__name__
}


def _contract_of(dagster_type: typing.Any) -> type | None:
    """The contracts class behind a Dagster type (``List[X]`` and ``Optional[X]`` unwrapped)."""
    inner = getattr(dagster_type, "inner_type", None)
    if inner is not None:
        return _contract_of(inner)
    python_type = getattr(dagster_type, "typing_type", None)
    return python_type if python_type in CONTRACT_TYPES else None


def test_every_op_input_and_output_is_a_contract_type() -> None:
    job = defs.resolve_job_def("media_analysis_job")
    untyped = []
    for node in job.graph.node_defs:
        for definition in [*node.input_defs, *node.output_defs]:
            dagster_type = definition.dagster_type
            if dagster_type.kind.name == "NOTHING":
                continue
            if dagster_type.kind.name == "ANY" or _contract_of(dagster_type) is None:
                untyped.append(f"{node.name}.{definition.name}: {dagster_type.display_name}")
    assert untyped == []


def test_contracts_are_frozen() -> None:
    import dataclasses

    for cls in CONTRACT_TYPES:
        if dataclasses.is_dataclass(cls):
            assert cls.__dataclass_params__.frozen, cls.__name__  # type: ignore[attr-defined]
