"""Only ``@op`` modules (and the failure hook): each reads a ``contracts.py`` value, calls
``pipeline/``, ``media/`` or ``providers/``, and writes through the resources.

Values passed between steps are the frozen dataclasses of ``contracts.py`` (references to stored
artifacts and facts, never file contents). Each step that makes files writes them into its own
folder ``requests/<request_id>/<step>/`` (emptied first) and its rows with one write sequence
(``pipeline.steps.write_step_files``), which is what makes re-executing a step replace, not
duplicate, its output.
"""
