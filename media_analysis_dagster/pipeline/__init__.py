"""Step logic that is not an op: what the ops of ``media_analysis_job`` call.

Planning the analyses, the analysis cache, the budget, a request's options, rows for the tables,
the runs of a request, provider pools, the write sequence every file-writing step shares,
retention's file rules, where the original comes from, and completion callbacks. ``ops/`` holds
only ``@op`` modules that read a contract, call these, and write.
"""
