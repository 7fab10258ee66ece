"""The marker file a data preparation writes with its settings, so that a
second call with the same settings returns at once."""
import json
import os.path as osp
from typing import Optional


def read_marker(root: str, name: str, wanted: dict,
                what: str) -> Optional[dict]:
    """The info stored in ``root/name``, or None when there is none.

    Raises:
        ValueError: If ``root`` holds ``what`` written with settings other
            than ``wanted``.
    """
    marker = osp.join(root, name)
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        info = json.load(f)
    if all(info.get(k) == v for k, v in wanted.items()):
        return info
    raise ValueError(f'{root!r} already holds {what} written with '
                     f'{ {k: info.get(k) for k in wanted} }, not '
                     f'{wanted}; choose another folder')
