"""mbv3's optimizer constructor merges mmengine's per-parameter groups into
one per setting and uses torch's fused or foreach kernels; the weights it
trains equal those of mmengine's per-parameter groups."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import \
    DefaultOptimWrapperConstructor as MMEngineConstructor

from mbv3.engine.optim_constructor import (DefaultOptimWrapperConstructor,
                                           FlatStep, merge_param_groups)
from mbv3.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from tests.conftest import DIGITS_CONFIG


@pytest.fixture(scope='module')
def digits_cfg():
    cfg = Config.fromfile(DIGITS_CONFIG)
    cfg.model.head.num_classes = 10
    return cfg


def small(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def build(constructor, optim_wrapper, model):
    """The optim wrapper ``constructor`` builds for ``model``, split as
    mmengine's ``build_optim_wrapper`` splits the config."""
    optim_wrapper = copy.deepcopy(optim_wrapper)
    paramwise_cfg = optim_wrapper.pop('paramwise_cfg', None)
    return constructor(optim_wrapper, paramwise_cfg)(model)


def train(model, wrapper, steps=3):
    model.train()
    for step in range(steps):
        torch.manual_seed(step)  # the same data and dropout masks
        x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8, ))
        wrapper.update_params(F.cross_entropy(model(x), y))
    return model.state_dict()


def test_merge_keeps_each_parameters_settings():
    a, b, c = (torch.nn.Parameter(torch.zeros(1)) for _ in range(3))
    merged = merge_param_groups([dict(params=[a], weight_decay=0.0),
                                 dict(params=[b]),
                                 dict(params=[c], weight_decay=0.0)])
    assert [[id(p) for p in g['params']] for g in merged] == \
        [[id(a), id(c)], [id(b)]]
    assert [type(g) for g in merged] == [dict, dict]
    assert merged[0]['weight_decay'] == 0.0 and 'weight_decay' not in \
        merged[1]


def test_digits_recipe_gets_two_plain_groups_and_fused_adamw(digits_cfg):
    # the class mmengine's build_optim_wrapper builds in mbv3's scope
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.get(
        'DefaultOptimWrapperConstructor')
    assert constructor is DefaultOptimWrapperConstructor
    wrapper = build(constructor, digits_cfg.optim_wrapper, small(digits_cfg))
    optimizer = wrapper.optimizer
    assert isinstance(optimizer, torch.optim.AdamW)
    assert isinstance(optimizer, FlatStep)
    assert optimizer.defaults['fused'] is True
    # norm weights and biases, every bias: no decay; the rest: 0.05
    assert [g['weight_decay'] for g in optimizer.param_groups] == [0.05, 0.0]
    assert all(type(g) is dict for g in optimizer.param_groups)
    # mmengine gives each of Small's 142 trained tensors its own group
    reference = build(MMEngineConstructor, digits_cfg.optim_wrapper,
                      small(digits_cfg)).optimizer
    assert len(reference.param_groups) == 142
    assert sum(len(g['params']) for g in optimizer.param_groups) == 142


@pytest.mark.parametrize('kernel', [dict(foreach=False), dict(fused=True)])
def test_trains_the_weights_per_parameter_groups_train(digits_cfg, kernel):
    """Same decay on the same tensors: after 3 AdamW steps the weights
    equal, bit for bit, those of mmengine's 142 groups stepped by the same
    kernel (single-tensor, or fused as mbv3 picks by default)."""
    wrapper_cfg = copy.deepcopy(digits_cfg.optim_wrapper)
    wrapper_cfg.optimizer.update(kernel)
    ref_model, model = small(digits_cfg), small(digits_cfg)
    reference = train(ref_model, build(MMEngineConstructor, wrapper_cfg,
                                       ref_model))
    merged = train(model, build(DefaultOptimWrapperConstructor, wrapper_cfg,
                                model))
    for key, value in reference.items():
        assert torch.equal(merged[key], value), key


def test_rmsprop_without_paramwise_cfg_uses_foreach():
    model = torch.nn.Linear(3, 2)
    wrapper = DefaultOptimWrapperConstructor(dict(
        optimizer=dict(type='RMSprop', lr=0.1)))(model)
    assert wrapper.optimizer.defaults['foreach'] is True
    assert len(wrapper.optimizer.param_groups) == 1


def test_a_kernel_chosen_in_the_config_is_kept():
    model = torch.nn.Linear(3, 2)
    wrapper = DefaultOptimWrapperConstructor(dict(
        optimizer=dict(type='AdamW', lr=0.1, foreach=False)))(model)
    assert wrapper.optimizer.defaults['foreach'] is False
    assert wrapper.optimizer.defaults['fused'] is None


def adamw_pair(digits_cfg, clip_grad=None, **optimizer):
    """Two Smalls with equal weights: one with mbv3's optim wrapper (fused
    AdamW over flat groups), one with mmengine's 142 per-parameter groups
    stepped by the same fused kernel."""
    wrapper_cfg = copy.deepcopy(digits_cfg.optim_wrapper)
    wrapper_cfg.optimizer.update(fused=True, **optimizer)
    if clip_grad:
        wrapper_cfg.clip_grad = clip_grad
    ref_model, model = small(digits_cfg), small(digits_cfg)
    return (ref_model, build(MMEngineConstructor, wrapper_cfg, ref_model),
            model, build(DefaultOptimWrapperConstructor, wrapper_cfg, model))


def assert_same_weights(model, ref_model):
    reference = ref_model.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, reference[key]), key


def test_flat_step_keeps_torchs_per_parameter_state_dict(digits_cfg):
    """The checkpointed optimizer state is torch's per-parameter layout,
    loads into torch's own AdamW, and one saved by torch's AdamW loads and
    trains on to the same weights."""
    ref_model, ref_wrapper, model, wrapper = adamw_pair(digits_cfg)
    train(ref_model, ref_wrapper, steps=2)
    train(model, wrapper, steps=2)
    saved = wrapper.optimizer.state_dict()
    reference = ref_wrapper.optimizer.state_dict()
    assert len(saved['state']) == 142
    first, last = saved['state'][0], saved['state'][141]
    assert first['step'] is not last['step']  # one tensor per parameter
    assert float(first['step']) == 2.0
    params = [p for g in wrapper.optimizer.param_groups for p in g['params']]
    assert first['exp_avg'].shape == params[0].shape
    # torch's AdamW over the same parameters takes the saved state
    plain = torch.optim.AdamW(
        [dict(g, params=g['params']) for g in
         wrapper.optimizer.param_groups], fused=True)
    plain.load_state_dict(saved)
    # the flat optimizer takes a state saved by torch's per-parameter one,
    # once mapped to its groups, and trains on to the same weights
    by_index = dict(enumerate(
        p for g in ref_wrapper.optimizer.param_groups for p in g['params']))
    index_of = {id(p): i for i, p in by_index.items()}
    names = {id(p): n for n, p in ref_model.named_parameters()}
    own_index = {n: i for i, n in enumerate(
        {id(p): n for n, p in model.named_parameters()}[id(p)]
        for g in wrapper.optimizer.param_groups for p in g['params'])}
    state = {own_index[names[id(p)]]: reference['state'][index_of[id(p)]]
             for p in by_index.values()}
    wrapper.optimizer.load_state_dict(dict(saved, state=state))
    train(ref_model, ref_wrapper, steps=3)
    train(model, wrapper, steps=3)
    assert_same_weights(model, ref_model)


def test_a_parameter_without_gradient_is_skipped_as_torch_skips_it(
        digits_cfg):
    """A group with an unused parameter falls back to the per-parameter
    step, so that parameter stays as it is, as with torch's optimizer."""
    ref_model, ref_wrapper, model, wrapper = adamw_pair(digits_cfg)
    train(ref_model, ref_wrapper, steps=1)
    train(model, wrapper, steps=1)
    for m in (ref_model, model):
        m.head.layers[1].fc.weight.requires_grad_(False)
    frozen = model.head.layers[1].fc.weight.detach().clone()
    train(ref_model, ref_wrapper, steps=2)
    train(model, wrapper, steps=2)
    assert torch.equal(model.head.layers[1].fc.weight, frozen)
    assert_same_weights(model, ref_model)
    assert wrapper.optimizer._flat[0] is None  # the decayed group


def test_replaced_parameter_data_falls_back_to_the_per_parameter_step(
        digits_cfg):
    ref_model, ref_wrapper, model, wrapper = adamw_pair(digits_cfg)
    train(ref_model, ref_wrapper, steps=1)
    train(model, wrapper, steps=1)
    for m in (ref_model, model):
        conv = m.backbone.layer0.conv
        conv.weight.data = conv.weight.data.clone()
    train(ref_model, ref_wrapper, steps=2)
    train(model, wrapper, steps=2)
    assert_same_weights(model, ref_model)


def test_flat_step_with_gradient_clipping_and_amsgrad(digits_cfg):
    ref_model, ref_wrapper, model, wrapper = adamw_pair(
        digits_cfg, clip_grad=dict(max_norm=0.5), amsgrad=True)
    train(ref_model, ref_wrapper, steps=3)
    train(model, wrapper, steps=3)
    assert_same_weights(model, ref_model)
