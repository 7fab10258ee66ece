"""The ImageNet recipes: their numbers match torchvision's v0.9 MobileNetV3
reference, and each builds and trains two iterations (and validates) on a
tiny ImageNet-layout folder of real photos."""
import os

import cv2
import pytest

from mbv3.cli.train import build_config as build_train_config
from mbv3.cli.train import parse_args as parse_train_args
from mbv3.utils.checkpoint import load_checkpoint_file
from tests.conftest import REPO

RECIPES = [os.path.join(REPO, 'configs', 'mobilenet_v3',
                        f'mobilenet-v3-{arch}_8xb128_in1k.py')
           for arch in ('small', 'large')]


@pytest.fixture(scope='module')
def tiny_imagenet(tmp_path_factory, photos):
    """root/{train,val}/<wnid>/ with scikit-image's photos: 2 classes, 2
    training images each (one JPEG, one PNG) and 1 validation image each."""
    _, raw = photos
    root = tmp_path_factory.mktemp('imagenet')
    layout = {'train': {'n01': (0, 1), 'n02': (2, 3)},
              'val': {'n01': (1, ), 'n02': (3, )}}
    for split, classes in layout.items():
        for wnid, indices in classes.items():
            os.makedirs(root / split / wnid)
            for i in indices:
                ext = 'JPEG' if i % 2 == 0 else 'png'
                cv2.imwrite(str(root / split / wnid / f'{i}.{ext}'),
                            raw[i][..., ::-1])
    return str(root)


def dry_run_options(root):
    options = [f'{loader}.{key}'
               for loader in ('train_dataloader', 'val_dataloader',
                              'test_dataloader')
               for key in (f'dataset.data_root={root}', 'batch_size=2',
                           'num_workers=0', 'persistent_workers=False',
                           'pin_memory=False')]
    # The tiny folder has 2 classes; NumClassesCheckHook insists the head
    # agrees with the data set.
    return options + [f'data_root={root}', 'train_cfg.max_epochs=1',
                       'model.head.num_classes=2']


def ema_top1(runner):
    """Top-1 in percent of the EMA model on the validation loader, by
    argmax of its logits against the folder labels."""
    import torch
    (ema, ) = [h for h in runner.hooks if type(h).__name__ == 'EMAHook']
    model = ema.ema_model.module.eval()
    hits = total = 0
    for batch in runner.val_dataloader:
        data = model.data_preprocessor(batch, False)
        with torch.no_grad():
            pred = model(data['inputs'], mode='tensor').argmax(1)
        labels = torch.cat([s.gt_label for s in data['data_samples']])
        hits += int((pred == labels).sum())
        total += len(labels)
    assert total == 2
    return 100 * hits / total


def test_recipe_numbers_follow_torchvision():
    cfg = build_train_config(parse_train_args([RECIPES[0]]))
    # torchvision references/classification README, MobileNetV3 recipe
    assert cfg.optim_wrapper.optimizer == dict(
        type='RMSprop', lr=0.064, alpha=0.9, momentum=0.9, eps=0.0316,
        weight_decay=1e-5)
    assert cfg.param_scheduler == dict(type='StepLR', by_epoch=True,
                                       step_size=2, gamma=0.973)
    assert cfg.train_cfg.max_epochs == 600
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=1024)
    steps = [t['type'] for t in cfg.train_pipeline]
    assert steps == ['LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip',
                     'AutoAugment', 'RandomErasing', 'PackInputs']
    assert cfg.train_pipeline[4]['prob'] == 0.2
    (ema, ) = cfg.custom_hooks
    assert ema.type == 'EMAHook' and ema.interval == 32
    assert ema.momentum == pytest.approx(1.0923e-3, rel=1e-4)


@pytest.mark.parametrize('recipe', RECIPES, ids=['small', 'large'])
def test_recipe_dry_run(recipe, tiny_imagenet, tmp_path, one_thread,
                        mmengine_fixes):  # as mbv3-train runs it
    from mmengine.runner import Runner
    args = parse_train_args([recipe, '--work-dir', str(tmp_path),
                             '--cfg-options',
                             *dry_run_options(tiny_imagenet)])
    runner = Runner.from_cfg(build_train_config(args))
    model = runner.train()
    # 4 images / batch 2 = 2 iterations, then a validation epoch
    assert runner.iter == 2
    assert os.path.isfile(tmp_path / 'epoch_1.pth')
    checkpoint = load_checkpoint_file(tmp_path / 'epoch_1.pth')
    assert 'ema_state_dict' in checkpoint
    # auto_scale_lr: 0.064 * (1 process x 2 images) / 1024
    lr = runner.optim_wrapper.optimizer.param_groups[0]['initial_lr']
    assert lr == pytest.approx(0.064 * 2 / 1024)
    # validation ran the EMA weights: their top-1 on the 2 validation
    # images, counted here by argmax, is the logged one
    assert runner.message_hub.get_scalar('val/accuracy/top1').current() == \
        ema_top1(runner)
    assert model.head.layers[-1].fc.out_features == 2
