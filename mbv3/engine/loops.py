"""Validation and test loops that score every readable image once and
list the unreadable ones (see :mod:`mbv3.datasets.bad_files`)."""
import logging
from typing import List

from mmengine.logging import print_log
from mmengine.runner import TestLoop, ValLoop

from mbv3.datasets.bad_files import SKIPPED_KEY
from mbv3.datasets.folder import display_path
from mbv3.registry import LOOPS


class _SkipsBadFiles:
    """Collect each batch's unreadable files in :attr:`skipped` and run
    only batches that hold a readable image."""

    def run(self) -> dict:
        self.skipped: List[dict] = []
        metrics = super().run()
        for item in self.skipped:
            print_log(f"skipped {display_path(item['image'])}: "
                      f"{item['error']}", logger='current',
                      level=logging.WARNING)
        return metrics

    def run_iter(self, idx, data_batch: dict) -> None:
        self.skipped.extend(data_batch.pop(SKIPPED_KEY, []))
        if len(data_batch['inputs']):
            super().run_iter(idx, data_batch)


@LOOPS.register_module()
class SkipBadFilesTestLoop(_SkipsBadFiles, TestLoop):
    """mmengine's ``TestLoop`` for a loader switched to
    :func:`~mbv3.datasets.skip_bad_files`: each batch's unreadable files
    are collected in :attr:`skipped` (``dict(image, error)``, in loader
    order), and batches with no readable image are not run. The metrics
    cover the readable images. ``tools/test.py`` uses it.

    Attributes:
        skipped (list[dict]): The files skipped by the last :meth:`run`
            (this process's share under a distributed launcher).
    """


@LOOPS.register_module()
class SkipBadFilesValLoop(_SkipsBadFiles, ValLoop):
    """:class:`SkipBadFilesTestLoop` as mmengine's ``ValLoop``: training
    validates on the readable images and lists the others after each
    validation."""
