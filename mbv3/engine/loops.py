"""A test loop that scores every readable image once and lists the
unreadable ones (see :mod:`mbv3.datasets.bad_files`)."""
import logging
from typing import List

from mmengine.logging import print_log
from mmengine.runner import TestLoop

from mbv3.datasets.bad_files import SKIPPED_KEY
from mbv3.registry import LOOPS


@LOOPS.register_module()
class SkipBadFilesTestLoop(TestLoop):
    """mmengine's ``TestLoop`` for a loader switched to
    :func:`~mbv3.datasets.skip_bad_files`: each batch's unreadable files
    are collected in :attr:`skipped` (``dict(image, error)``, in loader
    order), and batches with no readable image are not run. The metrics
    cover the readable images. ``tools/test.py`` uses it.

    Attributes:
        skipped (list[dict]): The files skipped by the last :meth:`run`
            (this process's share under a distributed launcher).
    """

    def run(self) -> dict:
        self.skipped: List[dict] = []
        metrics = super().run()
        for item in self.skipped:
            print_log(f"skipped {item['image']}: {item['error']}",
                      logger='current', level=logging.WARNING)
        return metrics

    def run_iter(self, idx, data_batch: dict) -> None:
        self.skipped.extend(data_batch.pop(SKIPPED_KEY, []))
        if len(data_batch['inputs']):
            super().run_iter(idx, data_batch)
