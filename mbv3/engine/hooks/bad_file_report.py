"""Report the image files skipped as unreadable."""
import logging
from collections import Counter

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mbv3.datasets.folder import display_path
from mbv3.registry import HOOKS


@HOOKS.register_module()
class BadFileReportHook(Hook):
    """At the end of the run, log how many unreadable image files
    ``LoadImageFromFile(skip_bad_files=True)`` skipped, and which (up to
    ``max_listed``), as the run's data sets record them (data loader
    workers included; :class:`~mbv3.datasets.skips.RecordsSkips`). Silent
    when none were skipped.

    Args:
        max_listed (int): Most file names listed. Defaults to 20.
    """

    def __init__(self, max_listed: int = 20):
        self.max_listed = max_listed

    def after_run(self, runner) -> None:
        skipped = Counter()
        for dataset in _built_datasets(runner):
            skipped.update(dataset.skipped_files())
        if not skipped:
            return
        names = sorted(skipped)
        listed = ', '.join(map(display_path, names[:self.max_listed]))
        more = len(names) - self.max_listed
        print_log(
            f'skipped {len(names)} unreadable image file(s) '
            f'({sum(skipped.values())} time(s) in all): {listed}'
            f'{f" and {more} more" if more > 0 else ""}', logger='current',
            level=logging.WARNING)


def _built_datasets(runner):
    """The data sets of the loops the run built (a loop not built is still
    a config dict, and is not built here)."""
    for name in ('_train_loop', '_val_loop', '_test_loop'):
        loader = getattr(getattr(runner, name, None), 'dataloader', None)
        dataset = getattr(loader, 'dataset', None)
        if hasattr(dataset, 'skipped_files'):
            yield dataset
