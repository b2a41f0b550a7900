"""What starts and watches runs: the sensors (pending rows, run-status sync, cancellation) and
the retention schedule."""
