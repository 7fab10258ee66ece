"""Build a model from a config and classify images with it."""
import csv
import io
import json
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.utils import ProgressBar

from mbv3.datasets.folder import IMAGE_EXTENSIONS, display_path
from mbv3.datasets.transforms.loading import rgb_as, to_rgb8
from mbv3.models.input_spec import model_channels, pipeline_channel_order
from mbv3.utils.checkpoint import atomic_write
from mbv3.utils.checks import check_int

OUT_FORMATS = ('.json', '.csv')


def _test_pipeline(cfg, in_memory: bool, channels: int):
    """The config's test pipeline and the channel order its loading gives;
    a 1-channel model's files load as grayscale, and in-memory images skip
    the loading."""
    pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    if pipeline[0]['type'].endswith('LoadImageFromFile'):
        if in_memory:
            pipeline = pipeline[1:]
        elif channels == 1:
            pipeline[0]['color_type'] = 'grayscale'
    return Compose(pipeline), pipeline_channel_order(cfg)


IN_MEMORY_TYPES = ('a PIL image (any mode), an (H, W, 3) RGB or (H, W) '
                   'grayscale uint8 numpy array, or a (3, H, W) or (1, H, '
                   'W) torch tensor, uint8 or float in [0, 1]')


def _is_path(image) -> bool:
    return isinstance(image, (str, os.PathLike))


def _array_rgb8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or not (
            image.ndim == 2 or image.ndim == 3 and image.shape[2] == 3):
        raise ValueError(f'image array must be (H, W, 3) RGB or (H, W) '
                         f'grayscale, uint8, got shape {image.shape} dtype '
                         f'{image.dtype}')
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 \
        else image


def _tensor_rgb8(image: torch.Tensor) -> np.ndarray:
    if image.dim() != 3 or image.shape[0] not in (1, 3) or not (
            image.dtype == torch.uint8 or image.is_floating_point()):
        raise ValueError(f'image tensor must be (3, H, W) RGB or (1, H, W) '
                         f'grayscale, uint8 or float in [0, 1], got shape '
                         f'{tuple(image.shape)} dtype {image.dtype}')
    image = image.detach().cpu()
    if image.is_floating_point():
        low, high = float(image.min()), float(image.max())
        if low < 0 or high > 1:
            raise ValueError(f'a float image tensor must hold values in '
                             f'[0, 1] (as torchvision ToTensor gives), got '
                             f'[{low:.3g}, {high:.3g}]; pass it before '
                             'normalisation')
        image = (image * 255).round().to(torch.uint8)
    return image.expand(3, -1, -1).permute(1, 2, 0).contiguous().numpy()


def _to_rgb8(image) -> np.ndarray:
    """An in-memory image as ``(H, W, 3)`` uint8 RGB, the form files
    decode to (:func:`~mbv3.datasets.transforms.loading.to_rgb8`)."""
    from PIL import Image
    if isinstance(image, Image.Image):
        return to_rgb8(image)
    if isinstance(image, np.ndarray):
        return _array_rgb8(image)
    if isinstance(image, torch.Tensor):
        return _tensor_rgb8(image)
    raise TypeError(f'image must be a file path or {IN_MEMORY_TYPES}, got '
                    f'{type(image).__module__}.{type(image).__qualname__}')


def _load_input(image, channels: int, order: str) -> dict:
    """The pipeline's input dict for a path or an in-memory image, in the
    channel ``order`` the pipeline's loading gives (grayscale for a
    1-channel model, from RGB as files are)."""
    if _is_path(image):
        # a special file (a pipe, a link loop) is refused by the image
        # reader
        if not osp.lexists(image):
            raise FileNotFoundError(f'image {image!r} does not exist')
        return dict(img_path=os.fspath(image))
    img = rgb_as(np.ascontiguousarray(_to_rgb8(image)),
                 'grayscale' if channels == 1 else 'color', order)
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])


def _to_result(sample, classes) -> dict:
    scores = sample.pred_score.float().cpu()
    label = int(sample.pred_label.item())
    return dict(pred_label=label, pred_score=float(scores[label]),
                pred_class=classes[label] if classes else None,
                pred_scores=scores.numpy())


def _topk(result: dict, classes, topk: int) -> list:
    """The ``topk`` best classes of a result, best first."""
    order = np.argsort(-result['pred_scores'], kind='stable')[:topk]
    return [
        dict(label=int(i), cls=classes[i] if classes else None,
             score=float(result['pred_scores'][i])) for i in order
    ]


@torch.no_grad()
def _classify_batch(model, images: Sequence, skip_bad_files: bool = False
                    ) -> list:
    """Classify images (paths or in-memory images) in one forward pass;
    with ``skip_bad_files``, an unreadable file gives
    ``dict(error=message)``."""
    from mbv3.datasets.transforms import ImageDecodeError
    pipelines, packed, errors = {}, [], {}
    channels = model_channels(model)
    for i, image in enumerate(images):
        in_memory = not _is_path(image)
        if in_memory not in pipelines:
            pipelines[in_memory] = _test_pipeline(model.cfg, in_memory,
                                                  channels)
        pipeline, order = pipelines[in_memory]
        try:
            packed.append(pipeline(_load_input(image, channels, order)))
        except (ImageDecodeError, FileNotFoundError) as err:
            if not skip_bad_files:
                raise
            errors[i] = str(err)
    samples = iter(model.test_step(pseudo_collate(packed)) if packed
                   else [])
    classes = model.dataset_meta.get('classes')
    return [dict(error=errors[i]) if i in errors else
            _to_result(next(samples), classes) for i in range(len(images))]


class _GraphedFeatures:
    """A classifier's ``extract_feat`` replayed from CUDA graphs: one graph
    per input shape and dtype, captured at its first batch (after two
    warm-up calls on a side stream, as torch's CUDA-graph guide does)."""

    def __init__(self, extract_feat):
        self.extract_feat = extract_feat
        self.graphs = {}

    def _capture(self, inputs: torch.Tensor):
        static_in = inputs.clone()
        side = torch.cuda.Stream(inputs.device)
        side.wait_stream(torch.cuda.current_stream(inputs.device))
        with torch.cuda.stream(side):
            for _ in range(2):
                self.extract_feat(static_in)
        torch.cuda.current_stream(inputs.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self.extract_feat(static_in)
        return graph, static_in, static_out

    def __call__(self, inputs: torch.Tensor):
        key = (tuple(inputs.shape), inputs.dtype)
        if key not in self.graphs:
            self.graphs[key] = self._capture(inputs)
        graph, static_in, static_out = self.graphs[key]
        static_in.copy_(inputs)
        graph.replay()
        return tuple(out.clone() for out in static_out) \
            if isinstance(static_out, tuple) else static_out.clone()


def use_cuda_graphs(model):
    """Run ``model``'s backbone and neck from CUDA graphs in inference: the
    kernels of a batch are launched as one graph, not one by one, which
    pays where launches cost more than the kernels (small batches, small
    inputs). A graph is captured for each input shape (the test pipeline's
    fixed size gives one per batch size, e.g. the full batches and the
    last) and replayed after; outputs equal those of the eager model.
    Training is not affected (only ``eval`` inference under
    ``torch.no_grad`` should use it).

    Source: torch's CUDA graphs (``torch.cuda.CUDAGraph``, "CUDA Graphs"
    in the CUDA semantics notes: warm-up on a side stream, static input
    and output tensors).

    Args:
        model (nn.Module): From :func:`~mbv3.apis.init_model`, on a CUDA device.

    Returns:
        nn.Module: ``model``, changed in place.

    Raises:
        ValueError: If the model is not on a CUDA device.
    """
    device = next(model.parameters()).device
    if device.type != 'cuda':
        raise ValueError(f'CUDA graphs need the model on a CUDA device, got '
                         f"{device}; use --device cuda (or drop the option)")
    model.extract_feat = _GraphedFeatures(model.extract_feat)
    return model


def inference_model(model, image, topk: Optional[int] = None) -> dict:
    """Classify one image.

    Args:
        model (nn.Module): From :func:`~mbv3.apis.init_model`.
        image: An image file path (str or ``os.PathLike``), or an
            in-memory image as torchvision, timm and Hugging Face users hold
            one: a PIL image in any mode (converted as files are: alpha
            dropped, palette looked up, 16-bit gray to its high byte); a
            numpy array ``(H, W, 3)`` uint8 in **RGB** order (from
            ``np.asarray(pil_image)``; reverse OpenCV's BGR with
            ``img[..., ::-1]``) or ``(H, W)`` uint8 grayscale; a torch
            tensor ``(3, H, W)`` RGB or ``(1, H, W)`` grayscale, uint8 or
            float in ``[0, 1]`` (``torchvision.transforms.ToTensor``).
        topk (int, optional): Also return the ``topk`` best classes.

    Returns:
        dict: ``pred_label`` (int), ``pred_score`` (float, softmax
        probability), ``pred_class`` (str, or None without class names)
        and ``pred_scores`` (``(num_classes,)`` numpy array); with
        ``topk``, ``topk``: a list of ``dict(label, cls, score)``, best
        first.

    Raises:
        FileNotFoundError: If the path does not exist.
        TypeError: If ``image`` is none of the types above (the message
            lists them).
        ValueError: If an array or tensor has another shape or dtype, a
            float tensor holds values outside ``[0, 1]``, or ``topk`` is
            not in ``[1, num_classes]``.
    """
    result = _classify_batch(model, [image])[0]
    if topk is not None:
        classes = len(result['pred_scores'])
        check_int('topk', topk, 1, classes, allowed=f'an int in [1, '
                  f'{classes}] (the number of classes)')
        result['topk'] = _topk(result, model.dataset_meta.get('classes'),
                               topk)
    return result


def list_images(path: str) -> List[str]:
    """The image files of a folder (recursively, sorted), or ``[path]``
    for anything else (special files are refused when read).

    Args:
        path (str): An image file or a folder.

    Returns:
        list[str]: Paths whose extension is in :data:`IMAGE_EXTENSIONS`
        (case-insensitive).

    Raises:
        FileNotFoundError: If ``path`` does not exist, or a folder holds no
            image.
    """
    if not osp.lexists(path):
        raise FileNotFoundError(f'image or folder {path!r} does not exist')
    if not osp.isdir(path):
        return [path]
    found = sorted(
        osp.join(root, name) for root, _, names in os.walk(path)
        for name in names if name.lower().endswith(IMAGE_EXTENSIONS))
    if not found:
        raise FileNotFoundError(f'folder {path!r} holds no image with an '
                                f'extension in {IMAGE_EXTENSIONS}')
    return found


def inference_folder(model, path: str, topk: int = 5, batch_size: int = 32,
                     progress: bool = True,
                     skip_bad_files: bool = False) -> List[dict]:
    """Classify every image of a folder (or one image file), in batches.

    Args:
        model (nn.Module): From :func:`~mbv3.apis.init_model`.
        path (str): An image file or a folder (searched recursively).
        topk (int): Best classes to return per image; clipped to the
            number of classes. Defaults to 5.
        batch_size (int): Images per forward pass, >= 1. Defaults to 32.
        progress (bool): Show mmengine's progress bar on stderr.
        skip_bad_files (bool): Give an unreadable file (empty, corrupt, not
            an image) the entry ``dict(image=path, error=message)`` and go
            on, instead of raising. Defaults to False.

    Returns:
        list[dict]: Per image, sorted by path: ``image`` (the path) and the
        keys of :func:`inference_model` with ``topk``, without
        ``pred_scores`` (or ``error`` for a skipped file).

    Raises:
        FileNotFoundError: See :func:`list_images`.
        ImageDecodeError: For an unreadable file, without
            ``skip_bad_files``.
        ValueError: If ``batch_size`` < 1 or ``topk`` < 1.
    """
    check_int('batch_size', batch_size, low=1)
    check_int('topk', topk, low=1)
    images = list_images(path)
    bar = ProgressBar(len(images), file=sys.stderr) if progress else None
    classes = model.dataset_meta.get('classes')
    results = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        for image, result in zip(chunk, _classify_batch(
                model, chunk, skip_bad_files)):
            if 'error' not in result:
                result['topk'] = _topk(result, classes, topk)
                result.pop('pred_scores')
            results.append(dict(image=image, **result))
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    return results


def save_results(results: List[dict], out: str) -> None:
    """Write :func:`~mbv3.apis.inference_folder` results to a file,
    atomically (:func:`~mbv3.utils.checkpoint.atomic_write`): a failed
    write, a full disk included, leaves an earlier ``out`` as it was.

    * ``.json``: the list of per-image dicts (``image``, ``pred_label``,
      ``pred_class``, ``pred_score``, ``topk``; ``image`` and ``error`` for
      a skipped file).
    * ``.csv``: one row per image and rank, columns ``image, rank, label,
      class, score, error`` (rank 1 is the prediction; a skipped file has
      one row with only ``image`` and ``error``).

    ``image`` is written as :func:`~mbv3.datasets.folder.display_path`
    (a file name that is not UTF-8 escaped); the files are UTF-8.

    Args:
        results (list[dict]): From :func:`~mbv3.apis.inference_folder`.
        out (str): Path ending in ``.json`` or ``.csv``.

    Raises:
        ValueError: If ``out`` has another extension.
        OSError: If the file cannot be written (``ENOSPC``: "no space left
            on <mount point>").
    """
    ext = osp.splitext(out)[1].lower()
    if ext not in OUT_FORMATS:
        raise ValueError(f'--out must end in one of {OUT_FORMATS}, got '
                         f'{out!r}')
    rows = [dict(r, image=display_path(r['image'])) for r in results]
    text = io.StringIO(newline='')
    if ext == '.json':
        json.dump(rows, text, indent=2)
    else:
        writer = csv.writer(text)
        writer.writerow(['image', 'rank', 'label', 'class', 'score',
                         'error'])
        for result in rows:
            if 'error' in result:
                writer.writerow([result['image'], '', '', '', '',
                                 result['error']])
            for rank, top in enumerate(result.get('topk', ()), start=1):
                writer.writerow([result['image'], rank, top['label'],
                                 top['cls'], f"{top['score']:.6f}", ''])
    atomic_write(text.getvalue().encode('utf-8'), out)


def format_result(result: dict) -> str:
    """One line per image: the path, then ``class (score)`` best first (or
    ``skipped: <error>``)."""
    image = display_path(result['image'])
    if 'error' in result:
        return f"{image}: skipped: {result['error']}"
    tops = ', '.join(
        f"{top['cls'] if top['cls'] is not None else top['label']} "
        f"({top['score']:.3f})" for top in result['topk'])
    return f"{image}: {tops}"
