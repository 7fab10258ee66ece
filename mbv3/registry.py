"""mbv3's registries: children of mmengine's roots, in the scope ``mbv3``.

In mbv3's own configs (``default_scope='mbv3'``) a module is named by its
plain name, ``type='MobileNetV3'``. From any other scope (mmpretrain, mmdet,
mmseg, or mmengine's root) it is named with the scope prefix,
``type='mbv3.MobileNetV3'``, after ``custom_imports=dict(imports=['mbv3'])``.
Each registry lists the ``locations`` whose import registers its modules,
so building by name works without importing them first.
"""
import mmengine.registry as root
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS',
    'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS', 'DATA_PREPARERS'
]



def _children(location: str, *parents: Registry) -> tuple:
    """mbv3's child of each mmengine root registry in ``parents``: the
    root's name, scope ``'mbv3'``, and ``location`` imported to register
    its components on first use."""
    return tuple(Registry(parent.name, parent=parent, scope='mbv3',
                          locations=[location]) for parent in parents)


(RUNNERS, RUNNER_CONSTRUCTORS, LOOPS, HOOKS, LOG_PROCESSORS, OPTIMIZERS,
 OPTIM_WRAPPERS, OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS, VISUALIZERS,
 VISBACKENDS) = _children(
    'mbv3.engine', root.RUNNERS, root.RUNNER_CONSTRUCTORS, root.LOOPS,
    root.HOOKS, root.LOG_PROCESSORS, root.OPTIMIZERS, root.OPTIM_WRAPPERS,
    root.OPTIM_WRAPPER_CONSTRUCTORS, root.PARAM_SCHEDULERS,
    root.VISUALIZERS, root.VISBACKENDS)
DATASETS, DATA_SAMPLERS, FUNCTIONS = _children(
    'mbv3.datasets', root.DATASETS, root.DATA_SAMPLERS, root.FUNCTIONS)
TRANSFORMS, = _children('mbv3.datasets.transforms', root.TRANSFORMS)
MODELS, MODEL_WRAPPERS, WEIGHT_INITIALIZERS, TASK_UTILS = _children(
    'mbv3.models', root.MODELS, root.MODEL_WRAPPERS,
    root.WEIGHT_INITIALIZERS, root.TASK_UTILS)
METRICS, EVALUATOR = _children('mbv3.evaluation', root.METRICS,
                               root.EVALUATOR)
# Functions that create a data set a config names in ``data_preparation``
# (``type='digits'``); mmengine has no such root.
DATA_PREPARERS = Registry('data preparer', scope='mbv3',
                          locations=['mbv3.datasets'])
