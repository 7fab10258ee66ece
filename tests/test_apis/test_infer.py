"""tools/infer.py and mbv3.apis inference on real photos (scikit-image's
bundled photos), with JSON and CSV output."""
import csv
import json
import os

import numpy as np
import pytest
import torch

from mbv3.apis import (inference_folder, inference_model, init_model,
                       list_images, use_cuda_graphs)
from mbv3.apis.inference import save_results
from mbv3.cli.infer import main as infer
from tests.conftest import DIGITS_CONFIG, initial_checkpoint, run_tool

CLASSES = tuple(str(i) for i in range(10))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The digits classifier with its initial weights, saved like a
    training checkpoint (state_dict + class names)."""
    return initial_checkpoint(
        DIGITS_CONFIG, tmp_path_factory.mktemp('ckpt') / 'digits.pth',
        CLASSES)


@pytest.fixture(scope='module')
def photo_dir(tmp_path_factory, photos):
    """Four real photos, two of them in a sub-folder, plus a non-image."""
    import cv2
    root = tmp_path_factory.mktemp('photos')
    (root / 'more').mkdir()
    names = ['astronaut.png', 'chelsea.jpg', 'more/coffee.png',
             'more/rocket.JPG']
    for name, image in zip(names, photos[1]):
        cv2.imwrite(str(root / name), image[..., ::-1])
    (root / 'notes.txt').write_text('not an image')
    return str(root)


@pytest.fixture(scope='module')
def model(checkpoint):
    return init_model(DIGITS_CONFIG, checkpoint)


def test_list_images_recursive_sorted_and_filtered(photo_dir):
    found = list_images(photo_dir)
    assert [os.path.relpath(p, photo_dir) for p in found] == [
        'astronaut.png', 'chelsea.jpg', 'more/coffee.png', 'more/rocket.JPG']
    assert list_images(found[0]) == [found[0]]


def test_list_images_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        list_images(str(tmp_path / 'missing'))
    with pytest.raises(FileNotFoundError, match='holds no image'):
        list_images(str(tmp_path))


def test_inference_model_topk(model, photo_dir):
    path = list_images(photo_dir)[1]
    result = inference_model(model, path, topk=3)
    top = result['topk']
    assert [t['label'] for t in top] == list(
        np.argsort(-result['pred_scores'], kind='stable')[:3])
    assert top[0]['label'] == result['pred_label']
    assert top[0]['cls'] == result['pred_class'] == CLASSES[top[0]['label']]
    assert top[0]['score'] == pytest.approx(result['pred_score'])
    assert top[0]['score'] >= top[1]['score'] >= top[2]['score']
    assert result['pred_scores'].sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match=r'topk must be an int in \[1, 10\]'
                       r'.*got 11'):
        inference_model(model, path, topk=11)


def test_folder_batches_agree_with_single_images(model, photo_dir):
    batched = inference_folder(model, photo_dir, topk=10, batch_size=3,
                               progress=False)
    assert len(batched) == 4
    for result in batched:
        single = inference_model(model, result['image'], topk=10)
        assert result['pred_label'] == single['pred_label']
        np.testing.assert_allclose([t['score'] for t in result['topk']],
                                   [t['score'] for t in single['topk']],
                                   rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match='batch_size must be an int >= 1, '
                       'got 0'):
        inference_folder(model, photo_dir, batch_size=0)


def test_infer_tool_writes_json(checkpoint, photo_dir, model, tmp_path):
    out = tmp_path / 'res' / 'results.json'
    proc = run_tool('infer.py', DIGITS_CONFIG, checkpoint, photo_dir,
                    '--topk', '3', '--out', str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert [os.path.basename(r['image']) for r in results] == [
        'astronaut.png', 'chelsea.jpg', 'coffee.png', 'rocket.JPG']
    for result in results:
        assert len(result['topk']) == 3
        assert result['pred_class'] == result['topk'][0]['cls']
        expected = inference_model(model, result['image'])
        assert result['pred_label'] == expected['pred_label']
        assert result['pred_score'] == pytest.approx(
            expected['pred_score'], rel=1e-4)
        line = f"{result['image']}: {result['pred_class']} (" \
            f"{result['pred_score']:.3f})"
        assert line in proc.stdout
    assert 'wrote 4 results' in proc.stdout


def test_infer_csv_one_row_per_rank(checkpoint, photo_dir, tmp_path):
    out = str(tmp_path / 'results.csv')
    results = infer([DIGITS_CONFIG, checkpoint, photo_dir, '--topk', '20',
                     '--batch-size', '2', '--out', out])
    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * 10  # topk clipped to the 10 classes
    assert list(rows[0]) == ['image', 'rank', 'label', 'class', 'score',
                             'error']
    first = [r for r in rows if r['image'] == results[0]['image']]
    assert [int(r['rank']) for r in first] == list(range(1, 11))
    assert first[0]['class'] == results[0]['pred_class']
    assert float(first[0]['score']) == pytest.approx(
        results[0]['pred_score'], abs=1e-6)
    assert sum(float(r['score']) for r in first) == pytest.approx(1.0,
                                                                  abs=1e-4)


def test_infer_rejects_bad_output_and_checkpoint(checkpoint, photo_dir,
                                                 tmp_path):
    with pytest.raises(ValueError, match=r"--out must end in one of "
                       r"\('.json', '.csv'\), got 'r.txt'"):
        infer([DIGITS_CONFIG, checkpoint, photo_dir, '--out', 'r.txt'])
    with pytest.raises(ValueError, match='--out must end in'):
        save_results([], str(tmp_path / 'r.yaml'))
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        infer([DIGITS_CONFIG, str(tmp_path / 'none.pth'), photo_dir])


def test_inference_lists_every_image_type_training_reads(tmp_path):
    import cv2

    from mbv3.apis.inference import list_images
    from mbv3.datasets import CustomDataset
    (tmp_path / 'cat').mkdir()
    pixels = np.full((8, 8, 3), 128, np.uint8)
    for ext in ('.ppm', '.pgm', '.PNG', '.webp'):
        image = pixels[..., 0] if ext == '.pgm' else pixels  # gray only
        assert cv2.imwrite(str(tmp_path / 'cat' / f'a{ext}'), image)
    (tmp_path / 'cat' / 'notes.txt').write_text('not an image')
    dataset = CustomDataset(data_root=str(tmp_path))
    trained_on = [dataset.get_data_info(i)['img_path']
                  for i in range(len(dataset))]
    assert len(trained_on) == 4
    assert list_images(str(tmp_path)) == sorted(trained_on)


def test_one_channel_model_classifies_files_and_arrays(gray_digits_config,
                                                       photo_dir, photos):
    # Issue 11 input 8: colour photos and BGR arrays are converted to the
    # 1-channel model's grayscale input (the same pixels either way).
    torch.manual_seed(0)
    model = init_model(gray_digits_config)
    results = inference_folder(model, photo_dir, topk=3, progress=False)
    assert [len(r['topk']) for r in results] == [3] * 4
    from_array = inference_model(model, photos[1][0][:, :, ::-1].copy())
    from_file = inference_model(model, os.path.join(photo_dir,
                                                    'astronaut.png'))
    np.testing.assert_allclose(from_array['pred_scores'],
                               from_file['pred_scores'], atol=1e-6)


def test_cuda_graphs_are_refused_on_cpu_in_one_line(checkpoint, photo_dir):
    with pytest.raises(ValueError, match='CUDA graphs need the model on a '
                       'CUDA device, got cpu'):
        use_cuda_graphs(init_model(DIGITS_CONFIG, checkpoint))
    with pytest.raises(ValueError, match="--cuda-graphs needs a CUDA "
                       "--device, got 'cpu'"):
        infer([DIGITS_CONFIG, checkpoint, photo_dir, '--cuda-graphs'])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_graphs_give_the_eager_results(checkpoint, photo_dir):
    """Batches of 3 then 1 (two graphs), replayed a second time."""
    eager = init_model(DIGITS_CONFIG, checkpoint, device='cuda')
    graphed = use_cuda_graphs(init_model(DIGITS_CONFIG, checkpoint,
                                         device='cuda'))
    expected = inference_folder(eager, photo_dir, topk=10, batch_size=3,
                                progress=False)
    for _ in range(2):
        results = inference_folder(graphed, photo_dir, topk=10,
                                   batch_size=3, progress=False)
        for result, reference in zip(results, expected):
            assert result['pred_label'] == reference['pred_label']
            np.testing.assert_allclose(
                [t['score'] for t in result['topk']],
                [t['score'] for t in reference['topk']], rtol=1e-5,
                atol=1e-6)
    assert sorted(graphed.extract_feat.graphs) == [
        ((1, 3, 32, 32), torch.float32), ((3, 3, 32, 32), torch.float32)]
