# Quantization-aware fine-tune (PT2E, x86 int8) of the digits
# model: a few epochs at a low learning rate from its float checkpoint.
#   python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_digits_qat.py \
#       --cfg-options load_from=work_dirs/mobilenet-v3-small_digits/epoch_20.pth
# The int8 model: mbv3.models.quantization.convert(init_model(CONFIG, CKPT)).
_base_ = ['./mobilenet-v3-small_digits.py']

max_epochs = 3
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# BN statistics and quantization ranges settle during the first epochs and
# stay fixed for the last (PyTorch's QAT recipe freezes both late). No
# PreciseBNHook: the exported graphs hold no BatchNorm modules.
custom_hooks = [
    dict(type='QATHook', backend='x86', freeze_bn_epoch=2,
         freeze_observer_epoch=2),
    dict(type='ResultsHook'),
]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
