# ImageNet-1k as folders: data/imagenet/{train,val}/<wnid>/*.JPEG, classes
# sorted by folder name. Augmentation of torchvision's MobileNetV3 recipe
# (references/classification, v0.9): RandomResizedCrop 224, horizontal
# flip, AutoAugment (ImageNet policy), RandomErasing p=0.2; evaluation
# resizes the short edge to 256 and takes the central 224x224.
data_root = 'data/imagenet'

data_preprocessor = dict(
    num_classes=1000,
    # ImageNet statistics in 0..255 units, RGB: the pipelines load RGB
    # (channel_order='rgb'), so the preprocessor swaps nothing (to_rgb=False)
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
)

train_pipeline = [
    dict(type='LoadImageFromFile', channel_order='rgb'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='AutoAugment', policy='imagenet'),
    # erases with the mean pixel, i.e. 0 after normalisation as torchvision
    dict(type='RandomErasing', prob=0.2),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', channel_order='rgb'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

# Batches are two tensors, images and labels (collate_batch). Loader
# workers, persistent_workers, prefetch and pin_memory are left to mbv3's
# commands, which size them for the machine (mbv3.datasets.loader); measure
# a pipeline's rate per worker with tools/analysis_tools/benchmark_pipeline.py
# (docs/training.md).
train_dataloader = dict(
    batch_size=128,
    collate_fn=dict(type='mbv3.collate_batch'),
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    collate_fn=dict(type='mbv3.collate_batch'),
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
