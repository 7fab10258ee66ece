# MobileNetV3-Small trained from scratch on scikit-learn's digits, on CPU.
#   python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_digits.py
_base_ = [
    '../_base_/models/mobilenet-v3-small.py',
    '../_base_/datasets/digits.py',
    '../_base_/default_runtime.py',
]

model = dict(
    # BN momentum 0.1 instead of the ImageNet recipe's 0.01: a short run
    # must leave usable running statistics; PreciseBNHook then re-estimates
    # them with the final weights.
    backbone=dict(norm_cfg=dict(type='BN', eps=0.001, momentum=0.1)),
    # None: the class count of the training folder (10 for the digits;
    # that of DIR/train with --data-root DIR). The data preprocessor and
    # the evaluators' top-k follow it.
    head=dict(num_classes=None,
              # label smoothing 0.1 (Szegedy et al. 2016, "Rethinking the
              # Inception Architecture", section 7): 98.06-100% top-1 over
              # eleven seeds and thread counts, plain cross-entropy
              # 97.78-98.89% (docs/training.md, "The digits recipe's
              # accuracy")
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0,
                        label_smooth_val=0.1)))

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=0.004, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=max_epochs,
         eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()

custom_hooks = [
    dict(type='PreciseBNHook', num_samples=512, interval=5),
    # loss and accuracy curves in <work_dir>/curves.png at the end
    dict(type='CurvesHook'),
    # top-1, wall time and machine in <work_dir>/results.json at the end:
    # the figures the README quotes (tools/analysis_tools/doc_figures.py)
    dict(type='ResultsHook'),
]
default_hooks = dict(checkpoint=dict(interval=5))
