"""Check that a checkpoint can be resumed with the current config before
training starts.

Resuming restores the optimizer state by position: torch's
``Optimizer.load_state_dict`` needs the same parameter groups, of the same
sizes, as the run that saved it. A run that trains other parameters (the
common "unfreeze after warm-up": ``frozen_stages=6`` then ``-1``) fails
deep inside torch with ``loaded state dict has a different number of
parameter groups``, after the Runner has set everything up.
"""
import copy
from typing import Dict, List, Optional

from mmengine.config import Config
from mmengine.runner import Runner

from mbv3.utils.checkpoint import load_checkpoint_file


class ResumeMismatchError(ValueError):
    """A checkpoint's optimizer state does not fit the config's optimizer.
    """


def _group_sizes(optimizer_state: dict) -> List[int]:
    return [len(group['params']) for group in optimizer_state['param_groups']]


def _flatten(value, prefix='') -> Dict[str, object]:
    if not isinstance(value, dict):
        return {prefix: value}
    flat = {}
    for key, item in value.items():
        flat.update(_flatten(item, f'{prefix}.{key}' if prefix else key))
    return flat


def changed_settings(saved_cfg_text: str, cfg: Config,
                     sections=('model', 'optim_wrapper')) -> List[str]:
    """``'key: old -> new'`` for each leaf of ``sections`` that differs
    between the config saved in a checkpoint and ``cfg``.

    Args:
        saved_cfg_text (str): ``checkpoint['meta']['cfg']``, the config
            text mmengine's Runner stores in every checkpoint.
        cfg (Config): The config of this run.
        sections (tuple[str]): Top-level keys to compare.

    Returns:
        list[str]: The differences, sorted by key.
    """
    saved = Config.fromstring(saved_cfg_text, '.py')
    old, new = {}, {}
    for section in sections:
        old.update(_flatten(saved.to_dict().get(section), section))
        new.update(_flatten(cfg.to_dict().get(section), section))
    return [f'{key}: {old.get(key)!r} -> {new.get(key)!r}'
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)]


def check_resumable(runner: Runner, checkpoint: str, cfg: Config) -> None:
    """Raise :class:`ResumeMismatchError` unless the optimizer state saved
    in ``checkpoint`` fits the optimizer ``runner`` will build.

    The optimizer is built (not kept) from the runner's model and its
    ``optim_wrapper`` config, and its parameter-group sizes are compared
    with the saved ones. Checkpoints without an optimizer state, or with
    several optimizers, are not checked.

    Args:
        runner (Runner): A Runner that has not started training.
        checkpoint (str): The checkpoint ``--resume`` will load.
        cfg (Config): The run's config (to name the settings that
            changed).

    Raises:
        ResumeMismatchError: One line: the checkpoint, the group counts
            (and sizes), the settings that changed, and ``load_from=`` as
            the way to start from its weights with a new optimizer.
    """
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    saved = state.get('optimizer')
    if not isinstance(saved, dict) or 'param_groups' not in saved or \
            not isinstance(runner.optim_wrapper, dict):
        return
    wrapper = runner.build_optim_wrapper(copy.deepcopy(runner.optim_wrapper))
    current = wrapper.state_dict()
    if 'param_groups' not in current:
        return
    old, new = _group_sizes(saved), _group_sizes(current)
    if old == new:
        return
    changes = changed_settings(state['meta']['cfg'], cfg) if \
        isinstance(state.get('meta', {}).get('cfg'), str) else []
    changed = f' (changed: {"; ".join(changes)})' if changes else ''
    raise ResumeMismatchError(
        f'cannot resume {checkpoint!r}: its optimizer state has '
        f'{len(old)} parameter groups holding {sum(old)} tensors, this '
        f"config's optimizer has {len(new)} holding {sum(new)}{changed}; "
        f'to start from its weights with a new optimizer and schedule, '
        f'train with load_from={checkpoint!r} into another --work-dir '
        'instead of --resume')


def completed_run(checkpoint: str, cfg: Config) -> Optional[str]:
    """Say so when ``checkpoint`` already reached the end of ``cfg``'s
    schedule, so that resuming it would train nothing.

    The schedule is ``train_cfg.max_epochs`` (compared with the epochs the
    checkpoint finished, ``meta['epoch']``) or ``train_cfg.max_iters``
    (with ``meta['iter']``), as mmengine's train loops count them; a
    mid-epoch checkpoint (``iter_<n>.pth``) has not finished its epoch.

    Args:
        checkpoint (str): The checkpoint ``--resume`` will load.
        cfg (Config): The run's config.

    Returns:
        str | None: One line naming the checkpoint, where it stands against
        the schedule and how to train longer; None when training is left.
    """
    train_cfg = cfg.get('train_cfg') or {}
    meta = load_checkpoint_file(checkpoint, map_location='cpu').get('meta')
    if not isinstance(meta, dict):
        return None
    for key, done in (('max_epochs', meta.get('epoch')),
                      ('max_iters', meta.get('iter'))):
        limit = train_cfg.get(key)
        if isinstance(limit, int) and isinstance(done, int):
            if done < limit:
                return None
            unit = key[len('max_'):-1]
            return (f'training is already complete: {checkpoint!r} finished '
                    f'{unit} {done} of train_cfg.{key}={limit}; nothing is '
                    f'left to resume (to train longer, raise it: '
                    f'--cfg-options train_cfg.{key}=N)')
    return None
