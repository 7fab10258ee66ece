"""Every int8 and export path runs without the deprecation warnings of
``torch.ao.quantization`` and ``torch.jit.trace`` (issue 25): here they
are errors, so a path that falls back on either fails."""
import copy
import warnings

import pytest
import torch
from mmengine.config import Config

from mbv3.apis import init_model
from mbv3.deploy.checks import sample_photos
from mbv3.deploy.runtimes import (RUNTIMES, export_model, load_runner,
                                  missing_packages)
from mbv3.models.input_spec import input_spec
from mbv3.models.quantization import convert, prepare_qat, quantize_ptq
from tests.conftest import DIGITS_CONFIG

pytest.importorskip('torchao')

# torch 2.14.1: "torch.ao.quantization is deprecated and will be removed in
# 2.10" (DeprecationWarning) and "`torch.jit.trace` is deprecated. Please
# switch to `torch.compile` or `torch.export`." (FutureWarning)
DEPRECATED = (r'.*torch\.ao\.quantization is deprecated',
              r'.*`torch\.jit\.trace(_method)?` is deprecated')


@pytest.fixture
def deprecations_are_errors():
    with warnings.catch_warnings():
        for message in DEPRECATED:
            warnings.filterwarnings('error', message=message)
        yield


@pytest.fixture(scope='module')
def digits_model():
    cfg = Config.fromfile(DIGITS_CONFIG)
    cfg.model.head.num_classes = cfg.data_preprocessor.num_classes = 10
    torch.manual_seed(0)
    model = init_model(cfg).eval()
    return model, sample_photos(input_spec(model))


def test_the_filters_catch_what_torch_warns(deprecations_are_errors):
    # the filters are live: the deprecated APIs raise under them
    with pytest.raises(FutureWarning, match='torch.jit.trace'):
        torch.jit.trace(torch.nn.ReLU(), torch.zeros(1))
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx
    with pytest.raises(DeprecationWarning, match='torch.ao.quantization'):
        prepare_fx(torch.nn.ReLU(), get_default_qconfig_mapping('x86'),
                   (torch.zeros(1), ))


def test_pytorch_int8_paths(digits_model, deprecations_are_errors,
                            one_thread):
    model, photos = digits_model
    assert quantize_ptq(copy.deepcopy(model), [photos])(photos).shape == \
        (4, 10)
    qat = prepare_qat(copy.deepcopy(model), photos)
    qat(photos)
    assert convert(qat)(photos).shape == (4, 10)


@pytest.mark.parametrize('runtime', sorted(RUNTIMES))
def test_export_paths_fp32_and_int8(runtime, digits_model, tmp_path,
                                    deprecations_are_errors, one_thread):
    if missing_packages(runtime):
        pytest.skip(missing_packages(runtime))
    model, photos = digits_model
    ext = RUNTIMES[runtime][1]
    shape = (1, *photos.shape[1:])
    for precision, calibration in (('fp32', None), ('int8', [photos])):
        path = export_model(model, runtime, str(tmp_path / f'{precision}'
                                                 f'{ext}'),
                            shape, calibration)
        assert load_runner(runtime, path)(photos[:1]).shape == (1, 10)
