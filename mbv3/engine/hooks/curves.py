"""Save the run's loss and accuracy curves as a PNG when training ends."""
import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook

from mbv3.registry import HOOKS
from mbv3.visualization.curves import plot_curves


@HOOKS.register_module()
class CurvesHook(Hook):
    """After training and its last validation, plot the ``scalars.json``
    files (written by mmengine's ``LocalVisBackend``) of every run in the
    work dir, so a resumed run continues its curve, to
    ``<work_dir>/<out_file>`` on rank 0. Evaluation-only runs
    (``tools/test.py``) draw nothing.

    Args:
        out_file (str): PNG name inside the work dir. Defaults to
            'curves.png'.

    Raises:
        ImportError: At construction when matplotlib is missing, so a run
            does not fail only after training.
        FileNotFoundError: After training, if the visualizer has no
            ``LocalVisBackend`` (no ``scalars.json`` to plot).
    """

    priority = 'LOWEST'

    def __init__(self, out_file: str = 'curves.png'):
        try:
            import matplotlib  # noqa: F401
        except ImportError as err:
            raise ImportError('CurvesHook needs matplotlib: pip install '
                              'matplotlib, or remove the hook') from err
        self.out_file = out_file

    @master_only
    def after_train(self, runner) -> None:
        try:
            out = plot_curves(runner.work_dir,
                              osp.join(runner.work_dir, self.out_file),
                              title=runner.experiment_name)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f'CurvesHook: {err}; it needs '
                "dict(type='LocalVisBackend') in visualizer.vis_backends"
            ) from None
        runner.logger.info(f'Loss and accuracy curves saved to {out}')
