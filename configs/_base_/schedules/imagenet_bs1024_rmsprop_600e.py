# torchvision's MobileNetV3 ImageNet schedule (references/classification,
# v0.9; mmpretrain's mobilenet-v3 configs use the same numbers): RMSprop
# with TensorFlow's alpha and eps, lr 0.064 for a global batch of 1024
# (8 GPUs x 128), decayed by 0.973 every 2 epochs, 600 epochs.
optim_wrapper = dict(
    optimizer=dict(type='RMSprop', lr=0.064, alpha=0.9, momentum=0.9,
                   eps=0.0316, weight_decay=1e-5))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=2,
                       gamma=0.973)
train_cfg = dict(by_epoch=True, max_epochs=600, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Linear scaling: lr = 0.064 * (GPUs x batch per GPU) / 1024.
auto_scale_lr = dict(enable=True, base_batch_size=1024)

# EMA of the weights (and BN statistics), used for validation and saved
# as the checkpoint's state_dict (the raw weights go to ema_state_dict).
# torchvision's reference: decay 0.99998 per image-equivalent, applied
# every 32 iterations and adjusted for the run:
#   alpha = (1 - 0.99998) * world_size * batch_size * 32 / epochs
# = 2e-5 * 8 * 128 * 32 / 600 = 0.00109 per update. mmengine's momentum is
# that alpha: ema = (1 - momentum) * ema + momentum * weights.
custom_hooks = [
    dict(type='EMAHook', momentum=(1 - 0.99998) * 8 * 128 * 32 / 600,
         interval=32, update_buffers=True, priority='ABOVE_NORMAL'),
]
