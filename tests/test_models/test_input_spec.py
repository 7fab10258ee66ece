"""One source for the input shape (issue 11 input 8): channels from the
backbone, size from the config's test pipeline, mean/std from the data
preprocessor."""
import pytest

from mbv3.apis import init_model
from mbv3.convert import config_from_metadata, convert_checkpoint
from mbv3.models import MobileNetV3, input_spec
from tests.conftest import DIGITS_CONFIG


def test_one_channel_digits_model(gray_digits_config):
    spec = input_spec(init_model(gray_digits_config))
    assert spec == (1, 32, 32, (127.5, ), (127.5, ))
    assert spec.batch_shape(4) == (4, 1, 32, 32)


def test_colour_digits_model_and_size_override():
    spec = input_spec(init_model(DIGITS_CONFIG), (64, 48))
    assert spec.shape == (3, 64, 48)
    assert spec.mean == pytest.approx((123.675, 116.28, 103.53))


def test_converted_checkpoint_takes_its_center_crop():
    import torchvision
    _, meta = convert_checkpoint(
        torchvision.models.mobilenet_v3_small().state_dict())
    model = init_model(config_from_metadata(meta))
    assert input_spec(model).shape == (3, 224, 224)  # CenterCrop 224


def test_bare_backbone_defaults():
    spec = input_spec(MobileNetV3('small', in_channels=4))
    assert spec == (4, 224, 224, (0.0, ) * 4, (1.0, ) * 4)


def test_mean_of_another_length_is_refused(gray_digits_config):
    from mmengine.config import Config
    cfg = Config.fromfile(gray_digits_config)
    cfg.data_preprocessor.mean = [127.5] * 3
    cfg.data_preprocessor.std = [127.5] * 3
    with pytest.raises(ValueError) as err:
        input_spec(init_model(cfg))
    assert str(err.value) == (
        'the data preprocessor has 3 mean/std values but the model takes 1 '
        'input channels; give one per channel, e.g. mean=[127.5]')
    with pytest.raises(ValueError, match=r'size must be \(H, W\)'):
        input_spec(MobileNetV3(), (0, 32))
