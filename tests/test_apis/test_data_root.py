"""Your own folder in one step: ``--data-root``, the class count and names
from the folder, a recorded validation split, and the data_root trap."""
import glob
import json
import os
import sys

import pytest

from mbv3.datasets.data_root import (DataRootMismatchError, check_data_root,
                                 resolve_num_classes)
from mbv3.cli.infer import main as infer
from mbv3.cli.train import build_config, parse_args
from mbv3.cli.train import main as train
from mbv3.datasets.folder import make_val_split
from tests.conftest import (DIGITS_CONFIG, REPO, initial_checkpoint,
                            run_tool, write_image_folder)

RECIPES = sorted(glob.glob(os.path.join(REPO, 'configs', '[!_]*', '*.py')))


def trap_config(tmp_path, root, num_classes=None):
    """What the quickstart used to suggest: a copy of the digits recipe
    with ``data_root`` (and ``num_classes``) appended."""
    config = tmp_path / 'mine.py'
    head = '' if num_classes is None else \
        f'model = dict(head=dict(num_classes={num_classes}))\n'
    config.write_text(f'_base_ = [{DIGITS_CONFIG!r}]\n'
                      f'data_root = {root!r}\n{head}')
    return str(config)


@pytest.mark.parametrize('classes', [tuple(f'c{i}' for i in range(10)),
                                     ('brick', 'grass')],
                         ids=['same-class-count', 'other-class-count'])
def test_trap_stops_before_training_naming_both_paths(tmp_path, classes):
    root = str(tmp_path / 'mine')
    for name in classes:
        os.makedirs(os.path.join(root, 'train', name))
    config = trap_config(tmp_path, root, len(classes))
    with pytest.raises(DataRootMismatchError) as err:
        build_config(parse_args([config]))
    assert str(err.value) == (
        f"the config sets data_root={root!r}, but train_dataloader reads "
        "train_dataloader.dataset.data_root='data/digits' (a variable of a "
        f"_base_ file keeps its value there); pass --data-root {root} to "
        "train.py/test.py/infer.py, or set train_dataloader.dataset."
        "data_root (and those of the other loaders) in the config")
    assert 'num_classes' not in str(err.value)


def from_command_line(main, monkeypatch, *args) -> int:
    """Run a command's ``main()`` as its script does (``sys.argv``); return
    the exit status."""
    monkeypatch.setattr(sys, 'argv', ['mbv3', *args])
    try:
        main()
    except SystemExit as done:
        return done.code
    return 0


def test_trap_is_one_line_from_the_command(tmp_path, capsys, monkeypatch):
    root = str(tmp_path / 'mine')
    config = trap_config(tmp_path, root, 2)
    work_dir = str(tmp_path / 'work')
    assert from_command_line(train, monkeypatch, config, '--work-dir',
                             work_dir) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f'error: DataRootMismatchError: the config sets data_root={root!r}')
    assert err.endswith('(--debug shows the traceback)\n')
    assert err.count('\n') == 1
    assert not os.path.isdir(work_dir)  # stopped before the Runner
    with pytest.raises(DataRootMismatchError):
        from_command_line(train, monkeypatch, config, '--work-dir',
                          work_dir, '--debug')
    with pytest.raises(DataRootMismatchError):  # called from Python
        train([config, '--work-dir', work_dir])


@pytest.mark.parametrize('recipe', RECIPES,
                         ids=[os.path.basename(r) for r in RECIPES])
def test_trap_is_caught_for_every_recipe(tmp_path, recipe):
    from mmengine.config import Config
    cfg = Config.fromfile(recipe)
    check_data_root(cfg)  # the recipe itself is consistent
    config = tmp_path / 'child.py'
    config.write_text(f'_base_ = [{recipe!r}]\ndata_root = "elsewhere"\n')
    with pytest.raises(DataRootMismatchError,
                       match=f"data_root='elsewhere', but train_dataloader "
                       f"reads train_dataloader.dataset.data_root="
                       f"'{cfg.data_root}'"):
        check_data_root(Config.fromfile(str(config)))


def test_data_root_sets_every_loader_and_infers_classes(tmp_path):
    from mmengine.config import Config
    root = write_image_folder(tmp_path / 'tex', ('train', 'val'),
                              classes=('brick', 'grass', 'gravel'))
    cfg = build_config(parse_args(
        [DIGITS_CONFIG, '--data-root', root, '--work-dir',
         str(tmp_path / 'work')]))
    assert 'data_preparation' not in cfg
    assert cfg.data_root == root
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == root
    assert Config.fromfile(DIGITS_CONFIG).model.head.num_classes is None
    assert cfg.model.head.num_classes == 3
    assert cfg.data_preprocessor.num_classes == 3
    # top-5 of 3 classes is always 100%: only top-1 is kept
    assert cfg.val_evaluator.topk == (1, ) and cfg.model.head.topk == (1, )
    # the digits recipe still counts its own 10 classes (known before
    # data_preparation writes them)
    digits = build_config(parse_args([DIGITS_CONFIG]))
    assert digits.model.head.num_classes == 10
    assert digits.val_evaluator.topk == (1, 5)


def test_data_root_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"--data-root '.*nowhere' does not exist"):
        build_config(parse_args(
            [DIGITS_CONFIG, '--data-root', str(tmp_path / 'nowhere')]))
    flat = tmp_path / 'flat'
    (flat / 'cat').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"--data-root '.*flat' has "
                       r"no train/ folder: lay the images out as "
                       r".*flat/train/<class>/<image>"):
        build_config(parse_args(
            [DIGITS_CONFIG, '--data-root', str(flat), '--work-dir',
             str(tmp_path / 'w')]))


def test_split_of_train_only_folder_is_recorded_and_reused(tmp_path):
    root = write_image_folder(tmp_path / 'tex', ('train', ), per_class=10)
    work_dir = str(tmp_path / 'work')
    args = [DIGITS_CONFIG, '--data-root', root, '--work-dir', work_dir]
    cfg = build_config(parse_args(args))
    with open(os.path.join(work_dir, 'split.json')) as f:
        info = json.load(f)
    assert (info['train'], info['val']) == (16, 4)
    assert info['classes'] == ['brick', 'grass']
    with open(os.path.join(work_dir, 'val.txt')) as f:
        val = f.read().splitlines()
    # stratified: 2 of each class's 10 images
    assert sorted(line.split()[1] for line in val) == ['0', '0', '1', '1']
    assert cfg.val_dataloader.dataset.ann_file == os.path.join(
        work_dir, 'val.txt')
    assert cfg.train_dataloader.dataset.ann_file == os.path.join(
        work_dir, 'train.txt')
    # a second run (resume, or test.py reading the work dir) reuses it,
    # even after new images arrive
    write_image_folder(tmp_path / 'tex', ('train', ), per_class=12)
    build_config(parse_args(args))
    with open(os.path.join(work_dir, 'val.txt')) as f:
        assert f.read().splitlines() == val
    with pytest.raises(ValueError, match=r'records a split of .*tex/train.* '
                       r'\(val_ratio=0.2, seed=0\), not of .*'
                       r'\(val_ratio=0.3, seed=0\); use another --work-dir'):
        make_val_split(os.path.join(root, 'train'), work_dir, 0.3)


@pytest.fixture(scope='module')
def three_class_checkpoint(tmp_path_factory):
    """A digits-recipe model for 3 classes, saved as training saves it."""
    from mmengine.config import Config
    cfg = Config.fromfile(DIGITS_CONFIG)
    classes = ('brick', 'grass', 'gravel')
    resolve_num_classes(cfg, classes)
    return initial_checkpoint(
        cfg, tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth', classes)


def test_infer_prints_class_names_of_the_checkpoint(three_class_checkpoint,
                                                    tmp_path, capsys):
    images = write_image_folder(tmp_path / 'tex', ('val', ),
                                classes=('gravel', ), per_class=2)
    results = infer([DIGITS_CONFIG, three_class_checkpoint, images,
                     '--topk', '3'])
    out = [line for line in capsys.readouterr().out.splitlines()
           if line.startswith(images)]
    assert len(results) == 2 and len(out) == 2
    for result, line in zip(results, out):
        names = [top['cls'] for top in result['topk']]
        assert sorted(names) == ['brick', 'grass', 'gravel']
        assert line.startswith(f"{result['image']}: {names[0]} (")


def test_one_corrupt_image_costs_only_itself(three_class_checkpoint,
                                              tmp_path, capsys, monkeypatch):
    images = write_image_folder(tmp_path / 'tex', ('val', ),
                                classes=('brick', 'grass'), per_class=3)
    bad = os.path.join(images, 'val', 'brick', 'broken.jpg')
    with open(bad, 'w') as f:
        f.write('oops\n')  # 5 bytes, not an image
    out_json = str(tmp_path / 'res.json')
    assert from_command_line(infer, monkeypatch, DIGITS_CONFIG,
                             three_class_checkpoint, images, '--out',
                             out_json) == 1
    out, err = capsys.readouterr()
    with open(out_json) as f:
        results = json.load(f)
    assert len(results) == 7
    (skipped, ) = [r for r in results if 'error' in r]
    assert skipped['image'] == bad
    assert skipped['error'].startswith(f"cannot read image {bad!r} (5 "
                                       'bytes)')
    assert all(len(r['topk']) == 3 for r in results if r is not skipped)
    assert f'skipped 1 unreadable file(s):\n  {bad}: cannot read' in out
    assert 'wrote 6 results' in out
    assert err.splitlines()[-1] + '\n' == (
        'error: SkippedFilesError: 1 unreadable file(s) skipped (listed '
        f'above and in {out_json}); every other result was written; '
        'replace or remove them, or pass --allow-skipped to accept the '
        'skip (--debug shows the traceback)\n')
    out_csv = str(tmp_path / 'r.csv')
    assert from_command_line(infer, monkeypatch, DIGITS_CONFIG,
                             three_class_checkpoint, images, '--out',
                             out_csv, '--allow-skipped') == 0
    with open(out_csv) as f:
        rows = f.read().splitlines()
    assert rows[0] == 'image,rank,label,class,score,error'
    assert len(rows) == 1 + 6 * 3 + 1
    assert [r for r in rows if r.startswith(bad)][0].startswith(
        f'{bad},,,,,cannot read image')


@pytest.mark.slow
def test_train_only_folder_end_to_end(tmp_path):
    """Train one epoch on a folder without val/, then test.py reads the
    recorded split, and skips (and lists) a val image damaged since."""
    from mbv3.utils.checkpoint import load_checkpoint_file
    root = write_image_folder(tmp_path / 'tex', ('train', ), per_class=10)
    work_dir = str(tmp_path / 'work')
    out = run_tool('train.py', DIGITS_CONFIG, '--data-root', root,
                   '--work-dir', work_dir, '--cfg-options',
                   'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                   'default_hooks.checkpoint.interval=1', timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    checkpoint = os.path.join(work_dir, 'epoch_1.pth')
    meta = load_checkpoint_file(checkpoint)['meta']
    assert meta['dataset_meta']['classes'] == ('brick', 'grass')
    with open(os.path.join(work_dir, 'val.txt')) as f:
        val = [line.split()[0] for line in f]
    assert len(val) == 4
    bad = os.path.join(root, 'train', val[0])
    with open(bad, 'w') as f:
        f.write('oops\n')
    result = str(tmp_path / 'test.json')
    out = run_tool('test.py', DIGITS_CONFIG, checkpoint, '--data-root', root,
                   '--work-dir', str(tmp_path / 'test'), '--out', result,
                   timeout=600)
    assert out.returncode == 1, out.stderr[-3000:]
    with open(result) as f:
        report = json.load(f)
    assert [item['image'] for item in report['skipped']] == [bad]
    assert report['skipped'][0]['error'].startswith(
        f'cannot read image {bad!r} (5 bytes)')
    # top-1 over the 3 readable val images of the recorded split, counted
    # from infer.py's prediction for each image (not from the metric)
    predictions = str(tmp_path / 'predictions.json')
    inferred = run_tool('infer.py', DIGITS_CONFIG, checkpoint,
                        os.path.join(root, 'train'), '--data-root', root,
                        '--out', predictions, '--allow-skipped',
                        timeout=600)
    assert inferred.returncode == 0, inferred.stderr[-3000:]
    with open(predictions) as f:
        predicted = {item['image']: item.get('pred_class')
                     for item in json.load(f)}
    readable = [os.path.join(root, 'train', name) for name in val[1:]]
    hits = sum(predicted[path] == os.path.basename(os.path.dirname(path))
               for path in readable)
    assert report['metrics']['accuracy/top1'] == pytest.approx(
        100 * hits / 3)
    assert out.stderr.strip().splitlines()[-1].startswith(
        'error: SkippedFilesError: 1 unreadable file(s) skipped')
