# Tiles of scikit-image's bundled photos (coins, camera) with masks of their
# bright regions (Otsu threshold, holes filled): 27 train and 10 val tiles of
# 96x96, written to data/skimage_seg/{img_dir,ann_dir}/{train,val} by
# tools/train.py on first use.
data_root = 'data/skimage_seg'
data_preparation = dict(type='skimage_seg', root=data_root, tile=96,
                        val_every=4)
classes = ('background', 'bright')
crop_size = (64, 64)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=False, with_label=False,
         with_seg=True),
    dict(type='RandomResize', scale=(96, 96), ratio_range=(0.75, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# The mask is loaded after the resize, so predictions are scored at the
# original size.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(96, 96), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=False, with_label=False,
         with_seg=True),
    dict(type='PackSegInputs'),
]
dataset = dict(type='SegDataset', data_root=data_root, classes=classes,
               img_suffix='.png', seg_map_suffix='.png')
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(dataset, data_prefix=dict(img_path='img_dir/train',
                                           seg_map_path='ann_dir/train'),
                 pipeline=train_pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    dataset=dict(dataset, data_prefix=dict(img_path='img_dir/val',
                                           seg_map_path='ann_dir/val'),
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='IoUMetric')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
