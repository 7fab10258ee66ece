import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS_CONFIG = os.path.join(REPO, 'configs', 'mobilenet_v3',
                             'mobilenet-v3-small_digits.py')


def pytest_addoption(parser):
    parser.addoption('--docs-slow', action='store_true',
                     help='also run the docs_slow tests: every README/docs '
                     'command, training included (longer than the suite)')
    parser.addoption('--reliability-json', metavar='PATH',
                     help='write the kind, case and outcome of each test '
                     'marked reliability to PATH (docs/results/'
                     'reliability.json feeds docs/reliability.md)')


_RELIABILITY = pytest.StashKey()


def pytest_configure(config):
    config.stash[_RELIABILITY] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Record each reliability-marked test's outcome: failed if any phase
    failed, else skipped or passed as its call (or setup) went."""
    report = (yield).get_result()
    marker = item.get_closest_marker('reliability')
    if marker is None or (report.when != 'call' and report.passed):
        return
    records = item.config.stash[_RELIABILITY]
    record = records.setdefault(item.nodeid, dict(
        kind=marker.kwargs['kind'], case=marker.kwargs['case'],
        test=item.nodeid, outcome=report.outcome))
    if record['outcome'] != 'failed':
        record['outcome'] = report.outcome


def pytest_sessionfinish(session):
    path = session.config.getoption('--reliability-json')
    if not path:
        return
    records = sorted(session.config.stash[_RELIABILITY].values(),
                     key=lambda r: (r['kind'], r['case'], r['test']))
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(dict(cases=records), f, indent=1)
        f.write('\n')


def pytest_collection_modifyitems(config, items):
    """Skip the docs_slow tests unless --docs-slow is given, so that any
    -m expression (the README's -m "not slow") composes with it."""
    if config.getoption('--docs-slow'):
        return
    skip = pytest.mark.skip(reason='docs_slow: run with --docs-slow')
    for item in items:
        if 'docs_slow' in item.keywords:
            item.add_marker(skip)


def load_docs_checker():
    """tools/check_docs.py as a module (it is a script, not in a package)."""
    spec = importlib.util.spec_from_file_location(
        'check_docs', os.path.join(REPO, 'tools', 'check_docs.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _mbv3_scope():
    from mmengine.registry import init_default_scope
    init_default_scope('mbv3')


@pytest.fixture(autouse=True)
def _restore_deterministic_mode():
    """mmengine's ``randomness=dict(deterministic=True)`` turns on
    ``torch.use_deterministic_algorithms`` for the whole process and a
    later ``deterministic=False`` run leaves it on; restore it after each
    test, so that a training test does not change the ones after it (e.g.
    int8 linear layers, which have no deterministic kernel)."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


@pytest.fixture(scope='module')
def one_thread():
    """One intra-op thread: on a shared 2-core machine, OpenMP threads
    competing with other processes make steps many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def photos():
    """scikit-image's bundled real photos as (N, 3, 224, 224) float
    tensors in [0, 1], plus the raw RGB arrays."""
    from skimage import data
    from skimage.transform import resize
    raw = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    batch = np.stack([resize(im, (224, 224), anti_aliasing=True)
                      for im in raw]).astype(np.float32)
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous(), raw


@pytest.fixture(scope='session')
def digits_subset(tmp_path_factory):
    """The digits with a 10x smaller training split (about 140 images)."""
    from mbv3.datasets.digits import prepare_digits
    root = str(tmp_path_factory.mktemp('digits_subset'))
    info = prepare_digits(root, train_subset=0.1)
    return root, info


def initial_checkpoint(config, path, classes):
    """A model of ``config`` with its seeded initial weights, saved as
    training saves it (the class names in ``meta['dataset_meta']``)."""
    from mbv3.apis import init_model
    torch.manual_seed(0)
    model = init_model(config)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=tuple(classes)))),
               str(path))
    return str(path)


def run_tool(script, *args, timeout=600, env=None):
    """Run a tools/ script in a subprocess; return CompletedProcess."""
    cmd = [sys.executable, os.path.join(REPO, 'tools', script), *args]
    # This checkout's mbv3 first, also when another one is pip-installed.
    pythonpath = os.pathsep.join(
        p for p in (REPO, os.environ.get('PYTHONPATH')) if p)
    full_env = dict(os.environ, PYTHONPATH=pythonpath, **(env or {}))
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=full_env)


def data_root_options(root):
    """``--cfg-options`` that move the digits to ``root``: the top-level
    ``data_root`` (or the trap check stops the run), every loader's and
    the preparation's."""
    return [f'{loader}.dataset.data_root={root}'
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')] + [
                               f'data_preparation.root={root}',
                               f'data_root={root}']


def write_image_folder(root, splits, classes=('brick', 'grass'),
                       per_class=6, size=32):
    """``root/<split>/<class>/<k>.png``: ``size`` x ``size`` crops of
    scikit-image's texture photo of each class (``brick``, ``grass``,
    ``gravel``), taken along the photo's diagonal."""
    import cv2
    from skimage import data
    for name in classes:
        photo = getattr(data, name)()
        for s, split in enumerate(splits):
            folder = os.path.join(str(root), split, name)
            os.makedirs(folder, exist_ok=True)
            for k in range(per_class):
                y = (s * per_class + k) * size % (photo.shape[0] - size)
                cv2.imwrite(os.path.join(folder, f'{k:02d}.png'),
                            photo[y:y + size, y:y + size])
    return str(root)


@pytest.fixture(autouse=True)
def _mmengine_restored():
    """Each test starts with mmengine as installed: fixes that a test, an
    mbv3 command run in-process or an ``MMEngineFixesHook`` applied are
    undone after it."""
    from mbv3.engine.mmengine_patches import restore_mmengine
    yield
    restore_mmengine()


@pytest.fixture
def mmengine_fixes():
    """mbv3's mmengine fixes, as its commands apply them."""
    from mbv3.engine.mmengine_patches import apply_mmengine_fixes
    return apply_mmengine_fixes()


@pytest.fixture(scope='session')
def gray_digits_config(tmp_path_factory):
    """The digits recipe as a 1-channel model: grayscale loading,
    ``in_channels=1`` and mean = std = 127.5 (issue 11 input 8)."""
    path = tmp_path_factory.mktemp('gray') / 'gray_digits.py'
    path.write_text(f'''
_base_ = [{DIGITS_CONFIG!r}]
model = dict(backbone=dict(in_channels=1))
data_preprocessor = dict(mean=[127.5], std=[127.5], to_rgb=False)
load = dict(type='LoadImageFromFile', color_type='grayscale')
train_dataloader = dict(dataset=dict(pipeline=[
    load, dict(type='RandomResizedCrop', scale=32), dict(type='PackInputs')]))
test_pipeline = [load, dict(type='Resize', scale=(32, 32)),
                 dict(type='PackInputs')]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
''')
    return str(path)


def assert_png(path, size):
    """``path`` is a PNG of ``size`` (width, height) pixels with something
    drawn on it (not one flat colour)."""
    from PIL import Image
    with Image.open(path) as image:
        assert image.format == 'PNG'
        assert image.size == tuple(size)
        pixels = np.asarray(image.convert('RGB'))
    assert pixels.std() > 5, f'{path} is blank'
