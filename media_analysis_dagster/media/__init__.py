"""Pure media code: probing, fetching, frames, contact sheets, scenes, motion, faces, audio,
documents.

Nothing here imports Dagster or any other module of this package, so each function can be
called from a test, a benchmark or the `media-analysis sheets` CLI without a run or a database.
Heavy libraries (PyAV, OpenCV, pypdfium2) are imported inside the functions that need them so
importing the job definitions stays cheap.
"""
