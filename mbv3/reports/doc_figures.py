"""The figures README.md and docs/*.md quote, rendered from the scripts
that measure them, between generated-section markers.

Sections are spelt, found and replaced by :mod:`mbv3.reports.generated`.
Measured figures (a training run; the outcomes of the reliability tests,
which ``pytest --reliability-json`` records) come from the JSON files
kept in ``docs/results/``; computed ones
(complexity counts) are computed here. ``python
tools/analysis_tools/doc_figures.py --update`` rewrites every section and
``tests/test_reports/test_doc_figures.py`` fails when one is stale.
"""
import json
import os.path as osp
from typing import Callable, Dict, List, NamedTuple

from .generated import begin_marker, end_marker, replace_section
from .reliability import RELIABILITY_JSON, reliability_matrix

TOOL = 'tools/analysis_tools/doc_figures.py'
DIGITS_JSON = 'docs/results/digits.json'
BENCHMARK_TRAIN_JSON = 'docs/results/benchmark_train_cpu.json'
BENCHMARK_TRAIN_TOOL = 'tools/analysis_tools/benchmark_train.py'
PIPELINE_JSON = 'docs/results/benchmark_pipeline_cpu.json'


def marked(name: str, body: str) -> str:
    """Section ``name`` as this module writes it: markers around
    ``body``."""
    return '\n'.join([begin_marker(name, TOOL), body, end_marker(name)])


def _minutes(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f'{minutes} min {seconds} s' if minutes else f'{seconds} s'


def _digits_top1(results: dict) -> str:
    """``98.06% top-1 on the 360 validation images`` of a digits run."""
    return (f"{results['metrics']['accuracy/top1']:.2f}% top-1 on the "
            f"{results['val_images']} validation images")


def digits_run(results: dict) -> str:
    """The README's sentence on the digits training run."""
    return (f"Measured on {results['machine']}: {results['epochs']} epochs "
            f"in {_minutes(results['train_seconds'])}, "
            f"{_digits_top1(results)} (the run's `results.json`, kept in "
            f'`{DIGITS_JSON}`).')


def digits_model(results: dict) -> str:
    """docs/tools.md's figures of the README's digits run."""
    return (f"The README's digits run: {results['epochs']} epochs, "
            f'{_digits_top1(results)} (`{DIGITS_JSON}`). The pictures were '
            'drawn from an earlier run of the same command; the commands '
            'below redraw them from yours.')


def benchmark_train(results: dict) -> str:
    """docs/training.md's split of a training iteration (the JSON of
    ``benchmark_train.py --out``), and the GPU line."""
    from mbv3.apis.benchmark_train import PHASES
    fixed = results['fixed_cost']
    command = (f"python {BENCHMARK_TRAIN_TOOL} configs/mobilenet_v3/"
               f"{results['config']}")
    rows = [f"| {phase.replace('_', ' ')} | {results['split_ms'][phase]:.2f}"
            f" | {fixed['split_ms'][phase]:.2f} |" for phase in PHASES]
    return '\n'.join([
        f"`{command} --threads {results['threads']} --out "
        f"{BENCHMARK_TRAIN_JSON}` on {results['machine']}: batch "
        f"{results['batch_size']}, means of {results['iters']} iterations, "
        f"{results['optimizer_groups']} optimizer parameter groups.",
        '',
        '| ms per iteration | the recipe\'s model | trivial model |',
        '|---|---:|---:|',
        *rows,
        f"| **iteration** | **{results['iteration_ms']:.2f}** | "
        f"**{fixed['iteration_ms']:.2f}** |",
        '',
        f"End to end {results['end_to_end_img_per_s']:.0f} img/s; the "
        f"model alone (forward, backward, optimizer step on a synthetic "
        f"batch) {results['model_only_img_per_s']:.0f} img/s. The loop's "
        f"fixed cost (trivial model): {fixed['iteration_ms']:.2f} ms per "
        f"iteration, {fixed['outside_data_wait_ms']:.2f} ms of it outside "
        'the data wait. The main process took '
        f"{results['page_faults_per_iter']:.0f} minor page faults per "
        f"iteration; allocator: {results['allocator']}.",
        '',
        'GPU: not measured on a GPU yet; '
        f'`{command} --device cuda --out '
        'docs/results/benchmark_train_cuda.json` measures it.'])


def benchmark_train_summary(results: dict) -> str:
    """The README's lines on the training loop's cost (the JSON of
    ``benchmark_train.py --out``), and the GPU line."""
    fixed = results['fixed_cost']
    return '\n'.join([
        f"Training loop on {results['machine']} "
        f"(`{BENCHMARK_TRAIN_TOOL}`, `{BENCHMARK_TRAIN_JSON}`): the fixed "
        f"cost of an iteration is {fixed['iteration_ms']:.1f} ms, "
        f"{fixed['outside_data_wait_ms']:.1f} ms of it outside the data "
        f"wait; the optimizer step of Small takes "
        f"{results['split_ms']['optimizer']:.1f} ms; end to end "
        f"{results['end_to_end_img_per_s']:.0f} img/s against "
        f"{results['model_only_img_per_s']:.0f} img/s for the model alone.",
        'GPU: not measured on a GPU yet; `benchmark_train.py CONFIG '
        '--device cuda` measures it ([docs/training.md](docs/training.md)).'
    ])


def large_complexity(_=None) -> str:
    """docs/deployment.md's complexity line for the Large classifier at
    224x224."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mbv3.models  # noqa: F401  (registers the classifier)
    from mbv3.registry import MODELS
    from mbv3.utils.flops import complexity
    cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))), 'configs', '_base_', 'models',
        'mobilenet-v3-large.py'))
    with DefaultScope.overwrite_default_scope('mbv3'):
        model = MODELS.build(cfg.model)
    totals, _ = complexity(model, depth=1)
    return (f"Large: {totals['params']:,} params, "
            f"{totals['macs'] / 1e6:.1f}M MACs (the paper's 217M), "
            f"{totals['activations'] / 1e6:.2f}M activations, "
            f"{totals['hardswish'] / 1e6:.2f}M h-swish, "
            f"{totals['relu'] / 1e6:.2f}M ReLU and "
            f"{totals['se'] / 1e6:.2f}M SE ops per 224x224 image.")


def pipeline_costs(results: dict) -> str:
    """docs/training.md's JPEG pipeline and receive costs (the JSON of
    ``benchmark_pipeline.py --out``)."""
    cost, receive = results['ms_per_image'], results['receive_ms_per_image']
    return '\n'.join([
        f"`python tools/analysis_tools/benchmark_pipeline.py "
        f"configs/mobilenet_v3/{results['config']} --out {PIPELINE_JSON}` "
        f"on {results['machine']}, one thread, interleaved, median of 5 "
        'rounds:',
        '',
        '| ms per image | the recipe\'s pipeline | torchvision tensor path |',
        '|---|---|---|',
        f"| JPEG decode, RandomResizedCrop 224, flip | {cost['config']:.2f} "
        f"| {cost['torchvision']:.2f} |",
        '',
        'Receiving one 224x224 image from a loader worker costs the main '
        f"process {receive['pseudo_collate']:.3f} ms of CPU with "
        f"`pseudo_collate` and {receive['collate_batch']:.3f} ms with "
        '`collate_batch`.'])


class Section(NamedTuple):
    """A generated section: the file that holds it, its name, the JSON
    it is rendered from (None: computed) and the renderer."""
    path: str
    name: str
    source: str
    render: Callable[[dict], str]


SECTIONS = (
    Section('README.md', 'digits-run', DIGITS_JSON, digits_run),
    Section('README.md', 'train-loop', BENCHMARK_TRAIN_JSON,
            benchmark_train_summary),
    Section('docs/deployment.md', 'large-complexity', None,
            large_complexity),
    Section('docs/tools.md', 'digits-model', DIGITS_JSON, digits_model),
    Section('docs/reliability.md', 'reliability-matrix', RELIABILITY_JSON,
            reliability_matrix),
    Section('docs/training.md', 'benchmark-train', BENCHMARK_TRAIN_JSON,
            benchmark_train),
    Section('docs/training.md', 'jpeg-pipeline', PIPELINE_JSON,
            pipeline_costs),
)


def render(root: str) -> Dict[str, str]:
    """The text of every file with sections, as it should read."""
    texts: Dict[str, str] = {}
    for section in SECTIONS:
        if section.path not in texts:
            with open(osp.join(root, section.path), encoding='utf-8') as f:
                texts[section.path] = f.read()
        data = None
        if section.source is not None:
            with open(osp.join(root, section.source), encoding='utf-8') as f:
                data = json.load(f)
        texts[section.path] = replace_section(
            texts[section.path], section.name,
            marked(section.name, section.render(data)))
    return texts


def stale(root: str) -> List[str]:
    """The files whose sections differ from :func:`render`'s."""
    out = []
    for path, text in render(root).items():
        with open(osp.join(root, path), encoding='utf-8') as f:
            if f.read() != text:
                out.append(path)
    return out
