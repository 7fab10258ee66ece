# Fine-tune MobileNetV3-Small from torchvision's ImageNet weights on your own
# image folder, DIR/train/<class>/<image> (optionally DIR/val/<class>/...):
#   python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_finetune-folder.py --data-root DIR
# The weights are downloaded, checked against their published sha256 and
# converted on first use, then read from the cache (docs/weights.md); the
# class count comes from the folder.
_base_ = [
    '../_base_/models/mobilenet-v3-small.py',
    '../_base_/datasets/imagenet_bs128_mbv3.py',
    '../_base_/default_runtime.py',
]

pretrained = 'mbv3://mobilenet_v3_small.tv_in1k'
model = dict(
    # torchvision's numerics (BN eps 1e-3, momentum 0.01: the defaults)
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                                prefix='backbone.')),
    # None: the number of class folders under --data-root
    head=dict(num_classes=None))

# The evaluation of these weights (ImageNet mean/std, short edge 256,
# central 224x224) is the base's; training drops AutoAugment and
# RandomErasing, which a small data set and a short run do not need.
data_root = 'data/my_images'
data_preprocessor = dict(num_classes=None)
train_pipeline = [
    dict(type='LoadImageFromFile', channel_order='rgb'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

# A pretrained network needs a smaller step than training from scratch:
# AdamW at 5e-4, one warm-up epoch, cosine decay over 30 epochs.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
max_epochs = 30
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(interval=5, save_best='auto'))
