# Quantization-aware fine-tune (PT2E, x86 int8) of the textures
# model, as the digits recipe: a few epochs at a low learning rate from
# its float checkpoint.
#   python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_textures_qat.py \
#       --cfg-options load_from=work_dirs/mobilenet-v3-small_textures/epoch_10.pth
_base_ = ['./mobilenet-v3-small_textures.py']

max_epochs = 3
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# BN statistics stay those of the float model (set by its PreciseBNHook;
# this list replaces the base's hooks): a few batches of 64 crops in
# training mode, under fake quantization, would move them off
custom_hooks = [
    dict(type='QATHook', backend='x86', freeze_bn_epoch=0,
         freeze_observer_epoch=2),
]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
