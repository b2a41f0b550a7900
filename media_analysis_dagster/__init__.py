"""media_analysis_dagster: every media-analysis request becomes one Dagster run.

Keep this module free of imports: every run worker imports the package, and heavy libraries
(PyAV, OpenCV, provider SDKs) are imported inside the code that needs them.
"""

__version__ = "0.1.0"
