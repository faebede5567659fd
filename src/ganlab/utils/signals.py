"""A stop that waits for a safe point: SIGINT (Ctrl-C) or SIGTERM sets a flag that the training
loop reads between iterations, where it writes the latest checkpoint and raises `TrainingStopped`;
a second signal stops at once (the checkpoint of the last snapshot is still intact).

    with StopOnSignal() as stop:
        training_loop(cfg, run_dir, stop=stop)  # TrainingStopped(run_dir, nimg) after a signal
"""

import signal
import threading


class TrainingStopped(Exception):
    """Training stopped on request after writing a checkpoint at `nimg` images into `run_dir`."""

    def __init__(self, run_dir, nimg, signame):
        super().__init__(f"stopped by {signame} at {nimg / 1000:.1f} kimg")
        self.run_dir, self.nimg, self.signame = run_dir, nimg, signame


class StopOnSignal:
    """Catches SIGINT and SIGTERM while entered (in the main thread only: elsewhere signals cannot
    be caught and this does nothing). `requested` names the first signal caught, or is None."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested, self._old = None, {}

    def _handle(self, signum, frame):
        if self.requested is not None:  # the second: stop now
            self.__exit__()
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self._old.items():
            signal.signal(s, handler)
        self._old = {}
        return False
