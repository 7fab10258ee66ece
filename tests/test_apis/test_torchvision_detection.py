"""torchvision's Faster R-CNN on mbv3's backbone: with torchvision's
weights it gives torchvision's detections; one training step and inference
on a real photo."""
from types import SimpleNamespace

import pytest
import torch

torchvision = pytest.importorskip('torchvision')

from mbv3.apis.torchvision_detection import (  # noqa: E402
    MobileNetV3WithFPN, fasterrcnn_mobilenet_v3)
from mbv3.models import MobileNetV3  # noqa: E402
from tests.test_models.test_classifiers.test_image_classifier import (  # noqa: E402,E501
    randomise_bn, torchvision_to_mbv3)

# A small, fast detector: 160-pixel images, few proposals.
SMALL = dict(min_size=160, max_size=240, rpn_pre_nms_top_n_train=100,
             rpn_post_nms_top_n_train=50, rpn_pre_nms_top_n_test=50,
             rpn_post_nms_top_n_test=20, box_batch_size_per_image=32)


def test_backbone_with_fpn_contract(photos):
    body = MobileNetV3WithFPN(MobileNetV3('large', out_indices=(13, 16)),
                              out_channels=64).eval()
    with torch.no_grad():
        feats = body(photos[0][:1])
    # torchvision BackboneWithFPN: '0', '1' and the max-pooled 'pool'
    assert list(feats) == ['0', '1', 'pool']
    assert [tuple(f.shape) for f in feats.values()] == [
        (1, 64, 7, 7), (1, 64, 7, 7), (1, 64, 4, 4)]
    assert body.out_channels == 64


def test_detections_equal_torchvision(photos):
    torch.manual_seed(0)
    tv = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None, num_classes=3, **SMALL).eval()
    randomise_bn(tv.backbone.body)
    ours = fasterrcnn_mobilenet_v3('large', num_classes=3, **SMALL).eval()
    # torchvision's default, which the factory takes over
    assert ours.rpn.score_thresh == tv.rpn.score_thresh == 0.05
    state = tv.state_dict()
    body = {f'features.{k[len("backbone.body."):]}': v
            for k, v in state.items() if k.startswith('backbone.body.')}
    mapped = {f'backbone.body.{k[len("backbone."):]}': v
              for k, v in torchvision_to_mbv3(
                  body, SimpleNamespace(backbone=ours.backbone.body)).items()}
    rest = {k: v for k, v in state.items()
            if not k.startswith('backbone.body.')}
    ours.load_state_dict({**mapped, **rest}, strict=True)
    image = torch.from_numpy(photos[1][1]).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        (theirs, ), (mine, ) = tv([image]), ours([image])
    assert len(theirs['boxes']) > 0
    assert torch.equal(mine['labels'], theirs['labels'])
    torch.testing.assert_close(mine['scores'], theirs['scores'],
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(mine['boxes'], theirs['boxes'], rtol=1e-4,
                               atol=1e-2)  # pixels


def test_fasterrcnn_train_step_and_inference_on_photo(photos):
    torch.manual_seed(0)
    model = fasterrcnn_mobilenet_v3('large', num_classes=2, **SMALL)
    # skimage's chelsea: the cat's head, boxed by hand (x1, y1, x2, y2)
    image = torch.from_numpy(photos[1][1]).permute(2, 0, 1).float() / 255
    targets = [dict(boxes=torch.tensor([[140., 20., 330., 280.]]),
                    labels=torch.tensor([1]))]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    losses = model([image], targets)
    assert set(losses) == {'loss_classifier', 'loss_box_reg',
                           'loss_objectness', 'loss_rpn_box_reg'}
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    grad = model.backbone.body.layer0.conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    optimizer.step()

    model.eval()
    with torch.no_grad():
        (result, ) = model([image])
    boxes = result['boxes']
    assert boxes.shape[1] == 4 and len(boxes) == len(result['scores'])
    # boxes are in the photo's own 300x451 pixel frame
    assert (boxes[:, 2] <= 451).all() and (boxes[:, 3] <= 300).all()
