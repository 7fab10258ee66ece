"""The Runner of mbv3's commands: a short console, the full log in the
work dir."""
import logging
import os.path as osp

from mmengine.runner import Runner

# mmengine's set-up detail, one or many lines each: in the log file only.
# Runner._log_env logs the environment (torch build flags) and the full
# config; the optimizer constructor logs one line per parameter with its
# own options, and one per frozen parameter.
_DETAIL_PREFIXES = (
    'Hooks will be executed in the following order',
    'paramwise_options -- ',
    'Distributed training is not used, all SyncBatchNorm',
    # mmengine's CheckpointHook warns about its own file client
    '"FileClient" will be deprecated',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)
_DETAIL_SUFFIX = ' is skipped since its requires_grad=False'


def is_setup_detail(record: logging.LogRecord) -> bool:
    """Whether ``record`` is mmengine's set-up detail (environment, config,
    hook order, per-parameter optimizer options), which the console of
    mbv3's commands leaves to the log file."""
    if record.funcName == '_log_env':
        return True
    message = record.getMessage()
    return message.startswith(_DETAIL_PREFIXES) or \
        message.endswith(_DETAIL_SUFFIX)


class ConsoleRunner(Runner):
    """mmengine's ``Runner`` whose console shows a start banner, the
    progress, results, warnings and errors, while the log file in the work
    dir (``<work_dir>/<timestamp>/<timestamp>.log``) keeps everything.

    mmengine prints 330 to 510 lines of set-up detail (the environment
    with torch's build flags, the whole config, the hook order, one line
    per parameter group) before the first progress line; those go to the
    log file only (:func:`is_setup_detail`).
    """

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level, log_file, **kwargs)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):
                handler.addFilter(
                    lambda record: not is_setup_detail(record))
        return logger

    @property
    def log_file(self) -> str:
        """The log file with every line (mmengine's ``build_logger``
        default)."""
        return osp.join(self.log_dir, f'{self.timestamp}.log')

    def banner(self) -> str:
        """One line: the config, the model, the work dir and the log
        file."""
        model = self.cfg.get('model')
        if isinstance(model, dict):
            backbone = model.get('backbone') or {}
            arch = backbone.get('arch')
            described = model.get('type', type(self.model).__name__) + (
                f' ({backbone.get("type")} {arch})' if arch else '')
        else:
            described = type(self.model).__name__
        return (f'{self.cfg.filename or self.experiment_name}: {described}; '
                f'work dir {self.work_dir}; environment, config and the '
                f'full log in {self.log_file}')
