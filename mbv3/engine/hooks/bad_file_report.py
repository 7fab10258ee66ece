"""Report the image files skipped as unreadable."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mbv3.registry import HOOKS


@HOOKS.register_module()
class BadFileReportHook(Hook):
    """At the end of the run, log how many unreadable image files
    ``LoadImageFromFile(skip_bad_files=True)`` skipped in this process,
    and which (up to ``max_listed``). Silent when none were skipped.

    Args:
        max_listed (int): Most file names listed. Defaults to 20.
    """

    def __init__(self, max_listed: int = 20):
        self.max_listed = max_listed

    def after_run(self, runner) -> None:
        from mbv3.datasets.transforms import skipped_files
        skipped = skipped_files()
        if not skipped:
            return
        names = sorted(skipped)
        listed = ', '.join(names[:self.max_listed])
        more = len(names) - self.max_listed
        print_log(
            f'skipped {len(names)} unreadable image file(s) '
            f'({sum(skipped.values())} time(s) in all): {listed}'
            f'{f" and {more} more" if more > 0 else ""}', logger='current',
            level=logging.WARNING)
