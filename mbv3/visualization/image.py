"""Load a photo the way a classifier's data preprocessor expects it."""
from typing import Optional, Tuple

import mmcv
import numpy as np
import torch

from mbv3.datasets.transforms import read_image
from mbv3.models.input_spec import input_spec, pipeline_channel_order
from mbv3.utils.checks import check_int


def load_image(model, path: str, input_size: Optional[int] = None
               ) -> Tuple[torch.Tensor, np.ndarray]:
    """Read an image, resize it and normalise it for ``model``, with the
    model's channel count (grayscale for a 1-channel model).

    Args:
        model (nn.Module): A classifier from :func:`mbv3.apis.init_model`;
            the image is read in the channel order its test pipeline
            loads, and its ``data_preprocessor`` (mean, std, BGR -> RGB)
            is applied.
        path (str): Image file.
        input_size (int, optional): Side of the resized square, in pixels,
            >= 32. Defaults to the model's input size
            (:func:`mbv3.models.input_spec`).

    Returns:
        tuple: ``inputs`` ``(1, C, H, W)`` float, on the model's device,
        and the resized image as an ``(H, W, 3)`` uint8 RGB array for
        display.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ImageDecodeError: If it cannot be read, or has more pixels than
            the limit (:func:`mbv3.datasets.transforms.read_image`).
        ValueError: If ``input_size`` is not an int >= 32, or the model
            takes neither 1 nor 3 channels.
    """
    if input_size is not None:
        check_int('input_size', input_size, low=32,
                  allowed='an int >= 32 (pixels)')
    spec = input_spec(model, None if input_size is None else
                      (input_size, input_size))
    if spec.channels not in (1, 3):
        raise ValueError(f'images can be read for 1 (grayscale) or 3 '
                         f'channels, the model takes {spec.channels}')
    flag = 'grayscale' if spec.channels == 1 else 'color'
    order = pipeline_channel_order(getattr(model, 'cfg', None))
    image = mmcv.imresize(read_image(path, flag, channel_order=order),
                          (spec.width, spec.height))
    chw = torch.from_numpy(np.ascontiguousarray(
        image.reshape(spec.height, spec.width, -1).transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[chw], data_samples=None))
    if image.ndim == 2:
        rgb = np.repeat(image[..., None], 3, axis=2)
    else:
        rgb = image[..., ::-1] if order == 'bgr' else image
    return data['inputs'], np.ascontiguousarray(rgb)
