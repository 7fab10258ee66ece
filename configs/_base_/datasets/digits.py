# scikit-learn's bundled handwritten digits (1,797 real 8x8 scans, 10
# classes), written to data/digits/{train,val}/<digit>/*.png by
# tools/train.py on first use (stratified, seeded 80/20 split).
data_root = 'data/digits'
data_preparation = dict(type='digits', root=data_root, val_ratio=0.2, seed=0)
input_size = 32

data_preprocessor = dict(
    num_classes=None,  # the class count of the training folder
    # ImageNet statistics in 0..255 units, RGB: the pipelines load RGB
    # (channel_order='rgb'), so the preprocessor swaps nothing (to_rgb=False)
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
)

train_pipeline = [
    dict(type='LoadImageFromFile', channel_order='rgb'),
    dict(type='RandomResizedCrop', scale=input_size,
         crop_ratio_range=(0.6, 1.0), aspect_ratio_range=(0.8, 1.25)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', channel_order='rgb'),
    dict(type='Resize', scale=(input_size, input_size)),
    dict(type='PackInputs'),
]

# The images are decoded once and kept in memory (in_memory=True); the
# augmentation still runs per epoch. Batches are two tensors, images and
# labels (collate_batch). The main process feeds a batch of 64 in about
# 3 ms (tools/analysis_tools/benchmark_train.py), so the recipe loads
# without workers; set here, it also runs as written under another
# library's tools/train.py (mmpretrain's defaults persistent_workers=True).
# Recipes that leave num_workers out get mbv3's machine-sized defaults
# (mbv3.datasets.loader).
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='mbv3.collate_batch'),
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline=train_pipeline,
                 in_memory=True),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='mbv3.collate_batch'),
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='val', pipeline=test_pipeline, in_memory=True),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
