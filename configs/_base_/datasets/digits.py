# scikit-learn's bundled handwritten digits (1,797 real 8x8 scans, 10
# classes), written to data/digits/{train,val}/<digit>/*.png by
# tools/train.py on first use (stratified, seeded 80/20 split).
data_root = 'data/digits'
data_preparation = dict(type='digits', root=data_root, val_ratio=0.2, seed=0)
input_size = 32

data_preprocessor = dict(
    num_classes=None,  # the class count of the training folder
    # ImageNet statistics in 0..255 units, RGB
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=input_size,
         crop_ratio_range=(0.6, 1.0), aspect_ratio_range=(0.8, 1.25)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size)),
    dict(type='PackInputs'),
]

# 8x8 PNGs decode in microseconds: loading in the main process is faster on
# a 2-core CPU than worker processes competing with the model for cores.
# (persistent_workers=False is spelt out: mmpretrain's tools/train.py
# defaults it to True, which torch refuses without workers.)
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
