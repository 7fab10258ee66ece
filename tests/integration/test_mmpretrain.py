"""mbv3 inside mmpretrain 1.2: the docs' config (mmpretrain's own
MobileNetV3-Small recipe with mbv3's backbone) built and run by
mmpretrain's builders, inferencer and tools; mbv3's digits recipe under
mmpretrain's tools."""
import os.path as osp

import pytest
import torch

from tests.conftest import DIGITS_CONFIG, data_root_options
from tests.integration.conftest import (doc_snippet, framework_config,
                                        last_metric, photo, randomize,
                                        require_frameworks,
                                        run_framework_tool, save_png,
                                        write_config)

require_frameworks()
pytestmark = pytest.mark.frameworks

SNIPPET = ('docs/use_from_openmmlab.md', "_base_ = 'mmpretrain::")
RECIPE = 'mobilenet_v3/mobilenet-v3-small_8xb128_in1k.py'
# two classes of two real photos each, the same for both splits
FOLDER_PHOTOS = {'animal': ('chelsea', 'astronaut'),
                 'thing': ('coffee', 'rocket')}

# mmpretrain's recipe as it is (pipelines with AutoAugment and
# RandomErasing, RMSprop, schedule), on a class-folder data set
TINY = '''
data_root = {root!r}
model = dict(head=dict(num_classes=2))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 data_prefix='val', pipeline={{{{_base_.test_pipeline}}}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
'''


def folder_set(root):
    for label, names in FOLDER_PHOTOS.items():
        for name in names:
            for split in ('train', 'val'):
                save_png(photo(name, 256),
                         osp.join(root, split, label, f'{name}.png'))
    return root


def build_classifier(config):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    model._config = cfg  # what mmpretrain's get_model sets
    return model


def test_swapped_recipe_gives_mmpretrains_logits(tmp_path):
    from mmpretrain.apis import ImageClassificationInferencer

    from mbv3.models import MobileNetV3
    ref = build_classifier(framework_config('mmpretrain', RECIPE))
    model = build_classifier(write_config(str(tmp_path),
                                          doc_snippet(*SNIPPET)))
    assert type(ref.backbone).__module__.startswith('mmpretrain.')
    assert type(model.backbone) is MobileNetV3

    bgr = photo('chelsea', 451)[..., ::-1].copy()
    inferencer = ImageClassificationInferencer(ref)
    batch = next(iter(inferencer.preprocess([bgr])))
    x = ref.data_preprocessor(batch)['inputs']
    assert x.shape == (1, 3, 224, 224)  # the recipe's resize and crop
    randomize(ref, x)
    model.load_state_dict(ref.state_dict(), strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(x, mode='tensor')
        torch.testing.assert_close(logits, ref(x, mode='tensor'), atol=1e-5,
                                   rtol=0)
    assert logits.shape == (1, 1000)
    ours = ImageClassificationInferencer(model)(bgr)[0]
    theirs = inferencer(bgr)[0]
    assert ours['pred_label'] == theirs['pred_label']
    assert abs(ours['pred_score'] - theirs['pred_score']) < 1e-6


@pytest.mark.slow
def test_mmpretrain_tools_train_test_and_resume(tmp_path):
    folder = str(tmp_path)
    root = folder_set(osp.join(folder, 'data'))
    config = write_config(folder, doc_snippet(*SNIPPET),
                          TINY.format(root=root))
    work = osp.join(folder, 'work')
    out = run_framework_tool('mmpretrain', 'train.py', config, '--work-dir',
                             work, cwd=folder)
    assert 'Epoch(train) [1][2/2]' in out
    val_top1 = last_metric(out, 'accuracy/top1')
    out = run_framework_tool('mmpretrain', 'test.py', config,
                             osp.join(work, 'epoch_1.pth'), '--work-dir',
                             work, cwd=folder)
    # the saved checkpoint gives the accuracy the training run validated
    assert last_metric(out, 'accuracy/top1') == val_top1
    out = run_framework_tool('mmpretrain', 'train.py', config, '--work-dir',
                             work, '--resume', '--cfg-options',
                             'train_cfg.max_epochs=2', cwd=folder)
    assert 'resumed epoch: 1, iter: 2' in out
    assert 'Epoch(train) [2][2/2]' in out
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))


@pytest.mark.slow
def test_digits_recipe_under_mmpretrain_tools(digits_subset, tmp_path):
    root, _ = digits_subset
    work = str(tmp_path / 'work')
    # mmpretrain's tools do not count the class folders (mbv3's commands
    # do, for a config that leaves num_classes=None), so it is given here
    options = ['--cfg-options', *data_root_options(root),
               'model.head.num_classes=10',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
               'default_hooks.checkpoint.interval=1']
    out = run_framework_tool('mmpretrain', 'train.py', DIGITS_CONFIG,
                             '--work-dir', work, *options, cwd=str(tmp_path))
    val_top1 = last_metric(out, 'accuracy/top1')
    out = run_framework_tool('mmpretrain', 'test.py', DIGITS_CONFIG,
                             osp.join(work, 'epoch_1.pth'), '--work-dir',
                             work, *options, cwd=str(tmp_path))
    assert last_metric(out, 'accuracy/top1') == val_top1
