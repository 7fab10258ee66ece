"""mbv3's registries: children of mmengine's roots, in the scope ``mbv3``.

In mbv3's own configs (``default_scope='mbv3'``) a module is named by its
plain name, ``type='MobileNetV3'``. From any other scope (mmpretrain, mmdet,
mmseg, or mmengine's root) it is named with the scope prefix,
``type='mbv3.MobileNetV3'``, after ``custom_imports=dict(imports=['mbv3'])``.
Each registry lists the ``locations`` whose import registers its modules,
so building by name works without importing them first.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS',
    'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS', 'DATA_PREPARERS'
]


def _child(name, parent, locations):
    return Registry(name, parent=parent, scope='mbv3', locations=locations)


RUNNERS = _child('runner', MMENGINE_RUNNERS, ['mbv3.engine'])
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             MMENGINE_RUNNER_CONSTRUCTORS, ['mbv3.engine'])
LOOPS = _child('loop', MMENGINE_LOOPS, ['mbv3.engine'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['mbv3.engine'])
LOG_PROCESSORS = _child('log processor', MMENGINE_LOG_PROCESSORS,
                        ['mbv3.engine'])
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, ['mbv3.engine'])
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS,
                        ['mbv3.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    ['mbv3.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS,
                          ['mbv3.engine'])
DATASETS = _child('dataset', MMENGINE_DATASETS, ['mbv3.datasets'])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS,
                       ['mbv3.datasets'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS,
                    ['mbv3.datasets.transforms'])
MODELS = _child('model', MMENGINE_MODELS, ['mbv3.models'])
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS,
                        ['mbv3.models'])
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS, ['mbv3.models'])
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, ['mbv3.models'])
METRICS = _child('metric', MMENGINE_METRICS, ['mbv3.evaluation'])
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, ['mbv3.evaluation'])
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, ['mbv3.engine'])
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS,
                     ['mbv3.engine'])
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, ['mbv3.datasets'])
# Functions that create a data set a config names in ``data_preparation``
# (``type='digits'``); mmengine has no such root.
DATA_PREPARERS = Registry('data preparer', scope='mbv3',
                          locations=['mbv3.datasets'])
