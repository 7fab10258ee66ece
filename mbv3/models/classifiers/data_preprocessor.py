"""Batch normalisation for classifiers, on the model's device."""
import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor

from mbv3.registry import MODELS


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """Move a batch to the model's device, convert BGR to RGB, subtract
    ``mean`` and divide by ``std``, in a few whole-batch operations.

    mmengine's ``ImgDataPreprocessor`` under mmpretrain's config names:
    ``to_rgb`` is ``bgr_to_rgb``; ``num_classes`` is accepted and unused
    (labels stay indices). The numbers equal mmengine's per-image path.

    Input: ``inputs`` a ``(N, C, H, W)`` uint8 tensor
    (:func:`~mbv3.datasets.collate_batch`) or a list of ``(C, H, W)``
    tensors (mmengine's ``pseudo_collate``; stacked first when their shapes
    agree, else normalised one by one and padded bottom-right to the
    largest, as mmengine does); ``data_samples`` a label tensor ``(N,)``,
    a list of data samples, or None. Output: ``inputs`` ``(N, C, H, W)``
    float32 on the model's device; a label tensor moved there too, data
    samples moved one by one as mmengine does.

    Args:
        mean (Sequence[float]): Per-channel mean, in 0..255 pixel units,
            RGB order when ``to_rgb``.
        std (Sequence[float]): Per-channel std, same units.
        to_rgb (bool): Swap BGR (OpenCV's order) to RGB. Defaults to False:
            mbv3's recipes load RGB (``LoadImageFromFile(channel_order=
            'rgb')``) and need no swap.
        pad_size_divisor (int): Pad H and W to a multiple of it.
        pad_value (float): Padding value, after normalisation.
        num_classes (int, optional): Accepted and ignored (mmpretrain
            configs set it).
        non_blocking (bool): Copy to the device asynchronously. Defaults to
            True: a copy from pinned memory (``pin_memory=True`` loaders)
            then overlaps with the model's work; from pageable memory torch
            copies synchronously anyway.
        channels_last (bool): Return the batch in the channels_last
            (NHWC) memory format, so every conv of the model runs in it
            (faster on GPUs with bf16/fp16; see docs/benchmarks.md).
            Defaults to False.
    """

    def __init__(self, mean=None, std=None, to_rgb=False, pad_size_divisor=1,
                 pad_value=0, num_classes=None, non_blocking=True,
                 channels_last=False):
        super().__init__(mean=mean, std=std,
                         pad_size_divisor=pad_size_divisor,
                         pad_value=pad_value, bgr_to_rgb=to_rgb,
                         non_blocking=non_blocking)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)) and inputs and all(
                t.shape == inputs[0].shape for t in inputs):
            inputs = torch.stack(list(inputs))
        if isinstance(inputs, torch.Tensor):
            data = dict(data, inputs=self.normalise(inputs),
                        data_samples=self.cast_data(data.get('data_samples')))
        else:
            data = super().forward(data, training)
        if self.channels_last:
            data['inputs'] = data['inputs'].contiguous(
                memory_format=torch.channels_last)
        return data

    def normalise(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` images of any dtype -> float32 on the device,
        channels swapped, normalised and padded as configured."""
        if inputs.dim() != 4:
            raise ValueError(f'ClsDataPreprocessor takes (N, C, H, W) '
                             f'inputs, got shape {tuple(inputs.shape)}')
        inputs = inputs.to(self.device, non_blocking=self._non_blocking)
        if self._channel_conversion:
            inputs = inputs.flip(1)
        inputs = inputs.float()
        if self._enable_normalize:
            inputs = (inputs - self.mean) / self.std
        # up to the next multiple of pad_size_divisor
        pad_h, pad_w = (-side % self.pad_size_divisor
                        for side in inputs.shape[-2:])
        if pad_h or pad_w:
            inputs = F.pad(inputs, (0, pad_w, 0, pad_h), value=self.pad_value)
        return inputs


def _v2_transforms(configs, name: str):
    from torchvision.transforms import v2
    steps = []
    for cfg in configs:
        cfg = dict(cfg)
        kind = cfg.pop('type', None)
        if not isinstance(kind, str) or not hasattr(v2, kind):
            raise ValueError(f'{name} takes torchvision.transforms.v2 '
                             f'transforms by class name, e.g. dict(type='
                             f"'RandomResizedCrop', size=224); got {kind!r}")
        steps.append(getattr(v2, kind)(**cfg))
    return v2.Compose(steps) if steps else v2.Identity()


@MODELS.register_module()
class JpegClsDataPreprocessor(ClsDataPreprocessor):
    """Decode JPEG files and augment them on the model's device, then
    normalise as :class:`ClsDataPreprocessor`: the GPU decode path for
    image folders (``configs/mobilenet_v3/
    mobilenet-v3-small_finetune-folder_gpu-decode.py``).

    The loader only reads the files (``LoadImageBytes``,
    ``PackInputs(input_key='img_bytes')``); here the batch's bytes are
    decoded to RGB by ``torchvision.io.decode_jpeg`` (nvJPEG, one call per
    batch, on a CUDA device; libjpeg-turbo on CPU), each image goes through
    ``train_transforms`` (``training=True``) or ``test_transforms``
    (torchvision's ``transforms.v2`` on tensors, on the device), and the
    results are stacked. The transforms are the CPU pipeline's in
    torchvision's implementation: ``RandomResizedCrop`` and
    ``RandomHorizontalFlip`` for mbv3's ``RandomResizedCrop`` and
    ``RandomFlip``, ``Resize(256)`` + ``CenterCrop(224)`` for
    ``ResizeEdge`` + ``CenterCrop``; they differ from the CPU pipeline by
    their resampling (torchvision antialiases downscaling unless
    ``antialias=False``; OpenCV's bilinear does not) and their random
    draws (torch's generator, not Python's).

    Limits: the files must be JPEGs; the EXIF orientation is applied on
    CPU only (torchvision's CUDA decoder ignores it). torchvision 0.29
    deprecates its decoders for TorchCodec's (``torchcodec.decoders.
    decode_jpeg``, the same call), which mbv3 does not depend on yet.

    Shape: ``inputs`` a list of ``N`` 1-D uint8 tensors (encoded files)
    -> ``(N, 3, H, W)`` float32, the transforms' output size.

    Args:
        train_transforms (list[dict]): ``transforms.v2`` classes by name
            with their arguments, e.g. ``[dict(type='RandomResizedCrop',
            size=224), dict(type='RandomHorizontalFlip')]``.
        test_transforms (list[dict]): Likewise for evaluation, e.g.
            ``[dict(type='Resize', size=256), dict(type='CenterCrop',
            size=224)]``.
        **kwargs: :class:`ClsDataPreprocessor`'s arguments (``to_rgb``
            must stay False: the decoder gives RGB).

    Raises:
        ValueError: For a transform that ``transforms.v2`` does not have,
            ``to_rgb=True``, and (in ``forward``) inputs that are not
            encoded JPEG files.
    """

    def __init__(self, train_transforms=(), test_transforms=(), **kwargs):
        if kwargs.get('to_rgb'):
            raise ValueError('JpegClsDataPreprocessor decodes to RGB; '
                             'to_rgb must be False, got True')
        super().__init__(**kwargs)
        self.train_transforms = _v2_transforms(train_transforms,
                                               'train_transforms')
        self.test_transforms = _v2_transforms(test_transforms,
                                              'test_transforms')

    def forward(self, data: dict, training: bool = False) -> dict:
        encoded = data['inputs']
        if isinstance(encoded, torch.Tensor):
            encoded = list(encoded)  # files of equal size, stacked
        if not encoded or any(t.dim() != 1 or t.dtype != torch.uint8
                              for t in encoded):
            raise ValueError('JpegClsDataPreprocessor takes the encoded '
                             'files (1-D uint8 tensors, LoadImageBytes + '
                             "PackInputs(input_key='img_bytes'))")
        transforms = self.train_transforms if training else \
            self.test_transforms
        images = torch.stack([transforms(image)
                              for image in self.decode(encoded)])
        return super().forward(dict(data, inputs=images), training)

    def decode(self, encoded):
        """Encoded JPEG files -> list of ``(3, H_i, W_i)`` uint8 RGB
        tensors on the model's device."""
        from torchvision.io import ImageReadMode, decode_jpeg
        device = self.device
        try:
            return decode_jpeg([t.cpu() for t in encoded],
                               mode=ImageReadMode.RGB, device=device,
                               apply_exif_orientation=device.type == 'cpu')
        except RuntimeError as err:
            raise ValueError(f'JpegClsDataPreprocessor decodes JPEG files '
                             f'only: {err}') from None
