# MobileNetV3-Small trained from scratch on 64x64 crops of scikit-image's
# texture photos (brick, grass, gravel; train and val from disjoint halves
# of each photo), on CPU. The second real data set of the int8 accuracy
# table.
#   python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_textures.py
_base_ = ['./mobilenet-v3-small_digits.py']

data_root = 'data/texture_halves'
data_preparation = dict(_delete_=True, type='textures', root=data_root,
                        size=64, stride=32)
input_size = 64
# plain cross-entropy: the digits recipe's label smoothing was not
# measured here, and the int8 tables' figures come from this recipe
model = dict(head=dict(num_classes=3, topk=(1, ),
                       loss=dict(label_smooth_val=0.0)))
data_preprocessor = dict(num_classes=3)

train_pipeline = [
    dict(type='LoadImageFromFile', channel_order='rgb'),
    dict(type='RandomResizedCrop', scale=input_size,
         crop_ratio_range=(0.6, 1.0), aspect_ratio_range=(0.8, 1.25)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', channel_order='rgb'),
    dict(type='Resize', scale=(input_size, input_size)),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(data_root=data_root,
                                     pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root,
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         eta_min=1e-5, convert_to_iter_based=True),
]
custom_hooks = [dict(type='PreciseBNHook', num_samples=256, interval=5)]
