"""Worked example: torchvision's Faster R-CNN on mbv3's backbone, one
training step and inference on a real photo."""
import pytest
import torch

torchvision = pytest.importorskip('torchvision')

from mbv3.apis.torchvision_detection import (  # noqa: E402
    MobileNetV3WithFPN, fasterrcnn_mobilenet_v3)
from mbv3.models import MobileNetV3  # noqa: E402

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
