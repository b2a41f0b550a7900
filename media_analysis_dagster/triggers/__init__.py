"""What starts and watches runs: the sensors (pending rows, run-status sync, cancellation, run
liveness, callback delivery) and the retention schedule, built from ``Settings`` values by
``definitions.py``."""
