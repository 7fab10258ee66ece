"""Load a photo the way a classifier's data preprocessor expects it."""
import os.path as osp
from typing import Tuple

import mmcv
import numpy as np
import torch

from mbv3.utils.checks import check_int


def load_image(model, path: str,
               input_size: int) -> Tuple[torch.Tensor, np.ndarray]:
    """Read an image, resize it to a square and normalise it for ``model``.

    Args:
        model (nn.Module): A classifier from :func:`mbv3.apis.init_model`;
            its ``data_preprocessor`` (mean, std, BGR -> RGB) is applied.
        path (str): Image file.
        input_size (int): Side of the resized square, in pixels, >= 32.

    Returns:
        tuple: ``inputs`` ``(1, 3, input_size, input_size)`` float, on the
        model's device, and the resized image as an ``(input_size,
        input_size, 3)`` uint8 RGB array for display.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If ``input_size`` is not an int >= 32.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path!r} does not exist')
    check_int('input_size', input_size, low=32,
              allowed='an int >= 32 (pixels)')
    bgr = mmcv.imresize(mmcv.imread(path, channel_order='bgr'),
                        (input_size, input_size))
    chw = torch.from_numpy(np.ascontiguousarray(bgr.transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[chw], data_samples=None))
    return data['inputs'], np.ascontiguousarray(bgr[..., ::-1])
