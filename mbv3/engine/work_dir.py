"""A training run's hold on its work dir: one run at a time, no new run
mixed into the checkpoints of an earlier one, and the temporary files of a
killed checkpoint write cleaned up."""
import glob
import os
import os.path as osp

from mbv3.utils.checkpoint import remove_orphan_tmp_files

LOCK_FILE = '.mbv3-run.lock'
# The lock file of each work dir this process holds, open until it exits
# (the kernel releases the lock of a killed process).
_HELD = {}


class WorkDirError(ValueError):
    """A work dir holds an earlier run's checkpoints, or another run."""


def earlier_checkpoints(work_dir: str) -> list:
    """What marks ``work_dir`` as holding an earlier run: its
    ``last_checkpoint`` pointer and ``*.pth`` files (names, sorted)."""
    found = [osp.basename(p)
             for p in glob.glob(osp.join(glob.escape(work_dir), '*.pth'))]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        found.append('last_checkpoint')
    return sorted(found)


def claim_work_dir(work_dir: str, resuming: bool) -> str:
    """Take ``work_dir`` for a training run of this process, before the
    Runner is built.

    mmengine's ``CheckpointHook`` writes ``epoch_<n>.pth`` and
    ``last_checkpoint`` straight into the work dir (its logs go to a
    timestamped sub-folder), so two runs in one work dir overwrite each
    other's checkpoints and ``--resume`` picks from either. Hence:

    * another run holding the work dir (an exclusive ``flock`` on
      ``work_dir/.mbv3-run.lock``, released when its process ends, even by
      ``kill -9``) is refused;
    * a new run (not ``resuming``) in a work dir with checkpoints is
      refused;
    * the temporary files a killed checkpoint write left
      (:func:`~mbv3.utils.checkpoint.remove_orphan_tmp_files`) are removed
      and counted.

    On platforms without ``fcntl`` (Windows) the lock is not taken.

    Args:
        work_dir (str): The run's work dir; created if missing.
        resuming (bool): The run continues the one in ``work_dir``
            (``--resume``).

    Returns:
        str: One line saying what the run found, for its log: ``work dir
        'DIR': new run`` (or ``resuming the run in it``), and the
        temporary files removed.

    Raises:
        WorkDirError: One line naming the work dir, what is in it, and
            ``--resume`` / ``--work-dir``.
    """
    os.makedirs(work_dir, exist_ok=True)
    real = osp.realpath(work_dir)
    if real not in _HELD:
        _HELD[real] = _lock(work_dir)
    if not resuming:
        found = earlier_checkpoints(work_dir)
        if found:
            release_work_dir(work_dir)
            raise WorkDirError(
                f'work dir {work_dir!r} holds the checkpoints of an earlier '
                f'run ({", ".join(found[:4])}'
                f'{", ..." if len(found) > 4 else ""}); a new run there '
                'would mix its checkpoints with them: pass --resume to '
                'continue that run, or another --work-dir for a new one')
    removed = remove_orphan_tmp_files(work_dir)
    cleaned = f'; removed {len(removed)} temporary file(s) of a killed ' \
        f'checkpoint write: {", ".join(map(osp.basename, removed))}' \
        if removed else ''
    return (f'work dir {work_dir!r}: '
            f'{"resuming the run in it" if resuming else "new run"}'
            f'{cleaned}')


def _lock(work_dir: str):
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    path = osp.join(work_dir, LOCK_FILE)
    f = open(path, 'a+')
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        owner = f.read().strip()
        f.close()
        raise WorkDirError(
            f'work dir {work_dir!r} is in use by another training run '
            f'({owner or "its process holds " + LOCK_FILE}); wait for it '
            'to end, or pass another --work-dir') from None
    f.truncate(0)
    f.write(f'pid {os.getpid()}\n')
    f.flush()
    return f


def release_work_dir(work_dir: str) -> None:
    """Let go of a work dir taken by :func:`claim_work_dir` (at the end of
    a run; the end of the process does the same)."""
    f = _HELD.pop(osp.realpath(work_dir), None)
    if f is not None:
        f.close()
