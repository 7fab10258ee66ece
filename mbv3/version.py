import re
from importlib import metadata
from typing import List, Optional

__version__ = '0.1.0'

# The oldest torch mbv3 runs on: torch.serialization.safe_globals (safe
# checkpoint loading), torch.onnx.export(dynamo=False) and the public
# nn.Module.register_load_state_dict_pre_hook all first appear in 2.5.
MIN_TORCH = (2, 5)


def check_torch(version: str) -> None:
    """Raise ImportError, in one line, when ``version`` (a
    ``torch.__version__`` such as '2.4.1+cpu') is older than
    :data:`MIN_TORCH`."""
    parts = version.split('+')[0].split('.')[:2]
    found = tuple(int(''.join(c for c in p if c.isdigit()) or 0)
                  for p in parts)
    if found < MIN_TORCH:
        need = '.'.join(map(str, MIN_TORCH))
        raise ImportError(
            f'mbv3 needs torch >= {need} (torch.serialization.safe_globals, '
            f'torch.onnx.export(dynamo=False)); found torch {version}: pip '
            f'install "torch>={need}"')


# Import names that differ from the name of the distribution providing them.
DISTRIBUTIONS = {'sklearn': 'scikit-learn', 'skimage': 'scikit-image',
                 'mmcv': 'mmcv-lite', 'cv2': 'opencv-python',
                 'PIL': 'pillow'}


def _normalize(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def install_hint(*modules: str,
                 requirements: Optional[List[str]] = None) -> str:
    """How to install what provides the imports ``modules``, in one line:
    the extras of mbv3 that list all their distributions, then pip's
    command for the distributions alone.

    Args:
        *modules (str): Import names, e.g. ``'skimage'`` or
            ``'skimage.data'`` (the top-level package counts).
        requirements (list[str], optional): mbv3's requirement strings as
            ``importlib.metadata.requires('mbv3')`` gives them (the
            default), e.g. ``'onnx; extra == "deploy"'``.

    Returns:
        str: e.g. ``mbv3's deploy extra: pip install -e ".[deploy]"; or
        pip install scikit-image``, or only the pip command when no extra
        lists them (or mbv3 is not installed).
    """
    distributions = [DISTRIBUTIONS.get(m.split('.')[0], m.split('.')[0])
                     for m in modules]
    if requirements is None:
        try:
            requirements = metadata.requires('mbv3') or []
        except metadata.PackageNotFoundError:
            requirements = []
    listed = {}  # normalized distribution -> the extras that list it
    for requirement in requirements:
        name = re.match(r'[A-Za-z0-9][A-Za-z0-9._-]*', requirement)
        extra = re.search(r'extra\s*==\s*["\']([^"\']+)["\']', requirement)
        if name and extra:
            listed.setdefault(_normalize(name.group()), []).append(
                extra.group(1))
    extras = [e for e in listed.get(_normalize(distributions[0]), [])
              if all(e in listed.get(_normalize(d), ())
                     for d in distributions)]
    # 'dev' lists everything: name it only when no other extra does
    named = [e for e in extras if e != 'dev'] or extras
    alone = f'pip install {" ".join(distributions)}'
    if not named:
        return alone
    return (f"mbv3's {' or '.join(named)} extra: pip install -e "
            f'".[{named[0]}]"; or {alone}')
