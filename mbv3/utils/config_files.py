"""Find a config file from the current folder or in the installed package,
and read it."""
import os.path as osp

# The configs shipped inside the package: ``mbv3/configs`` links to the
# repository's ``configs/`` in a checkout and is a copy in an installed
# wheel (``setup.py`` package data).
PACKAGE_CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                           'configs')


def find_config(path: str) -> str:
    """The config file ``path`` names.

    A path that exists (from the current folder, or absolute) is used as
    it is. Otherwise it is looked up among the configs installed with mbv3,
    with or without its leading ``configs/``: after ``pip install mbv3``,
    ``configs/mobilenet_v3/mobilenet-v3-small_digits.py`` and
    ``mobilenet_v3/mobilenet-v3-small_digits.py`` work from any folder.

    Args:
        path (str): A config path.

    Returns:
        str: The path of an existing file.

    Raises:
        FileNotFoundError: If neither exists; the message names both.
    """
    path = str(path)
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        raise FileNotFoundError(f'config {path!r} is a folder, not a config '
                                f'file')
    parts = osp.normpath(path).split(osp.sep)
    relative = osp.join(*parts[1:]) if parts[0] == 'configs' and \
        len(parts) > 1 else path
    installed = osp.join(PACKAGE_CONFIGS, relative)
    if not osp.isabs(path) and osp.isfile(installed):
        return installed
    raise FileNotFoundError(f'config {path!r} does not exist (looked in the '
                            f'current folder and in {PACKAGE_CONFIGS!r})')


def read_config(path: str):
    """:func:`find_config`, then ``mmengine.Config.fromfile``, with the
    file named in every error.

    Raises:
        FileNotFoundError: As :func:`find_config`.
        ValueError: If the file does not parse, or defines no ``model``
            (e.g. an empty file).
    """
    from mmengine.config import Config
    found = find_config(path)
    try:
        cfg = Config.fromfile(found)
    except SyntaxError as err:
        raise ValueError(f'config {found!r} is not valid Python: {err.msg} '
                         f'(line {err.lineno})') from err
    if 'model' not in cfg:
        raise ValueError(f'config {found!r} defines no model (an empty or '
                         f'partial config? configs set model=dict(...), or '
                         f"inherit it with _base_)")
    return cfg
