"""mbv3's commands, one module each, each a ``main(argv=None)``.

Run one as ``python -m mbv3.cli.<module>``, as the console script
``mbv3-<name>`` (declared in ``setup.py``), or as its ``tools/`` script.
Each command applies mbv3's mmengine fixes
(:func:`mbv3.engine.mmengine_patches.apply_mmengine_fixes`) first, in its
``command`` wrapper; importing this package does not.
"""
import importlib
import os.path as osp
import sys

# console script name -> module of mbv3.cli
COMMANDS = {
    'mbv3-train': 'train',
    'mbv3-test': 'test',
    'mbv3-infer': 'infer',
    'mbv3-flops': 'flops',
    'mbv3-benchmark': 'benchmark',
    'mbv3-benchmark-amp': 'benchmark_amp',
    'mbv3-benchmark-compile': 'benchmark_compile',
    'mbv3-benchmark-pipeline': 'benchmark_pipeline',
    'mbv3-benchmark-train': 'benchmark_train',
    'mbv3-export-onnx': 'export_onnx',
    'mbv3-export-openvino': 'export_openvino',
    'mbv3-export-executorch': 'export_executorch',
    'mbv3-int8-accuracy': 'int8_accuracy',
    'mbv3-deployment-table': 'deployment_table',
    'mbv3-convert': 'convert',
    'mbv3-weights': 'weights',
    'mbv3-vis-cam': 'vis_cam',
    'mbv3-vis-features': 'vis_features',
    'mbv3-vis-curves': 'vis_curves',
    'mbv3-model-zoo': 'model_zoo',
    'mbv3-out-indices-table': 'out_indices_table',
    'mbv3-doc-figures': 'doc_figures',
}


def console() -> None:
    """Entry of every console script: run the command its name selects.

    ``main`` returns results for callers in Python; a console script's
    exit status must not be that value, so it is dropped here.

    Raises:
        SystemExit: For a script name not in :data:`COMMANDS`.
    """
    name = osp.splitext(osp.basename(sys.argv[0]))[0]
    if name not in COMMANDS:
        sys.exit(f'unknown mbv3 command {name!r}; one of {sorted(COMMANDS)}')
    run(COMMANDS[name])


def run(module: str, argv=None) -> None:
    """Run ``mbv3.cli.<module>.main(argv)`` as a command line does. Each
    ``main`` is wrapped by :func:`mbv3.cli._command.command`, the one path
    by which an error becomes a line ``error: ...`` on stderr and exit
    status 1. A package the command's module imports that is not installed
    is such a line too, naming what installs it
    (:func:`mbv3.version.install_hint`), unless ``--debug`` is given or
    ``argv`` is (a call from Python).

    Raises:
        SystemExit: For a missing package, from the command line.
    """
    try:
        command = importlib.import_module(f'mbv3.cli.{module}')
    except ModuleNotFoundError as err:
        if argv is not None or '--debug' in sys.argv[1:]:
            raise
        from ._command import one_line
        sys.exit(f'error: {one_line(err)} (--debug shows the traceback)')
    command.main(argv)
