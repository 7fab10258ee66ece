# LR-ASPP (paper Section 6.3) on MobileNetV3-Small, trained from scratch on
# tiles of scikit-image photos, on CPU.
#   python tools/train.py \
#       configs/lraspp/lraspp_mobilenet-v3-small_skimage-seg.py
_base_ = [
    '../_base_/datasets/skimage_seg.py',
    '../_base_/default_runtime.py',
]

norm_cfg = dict(type='BN', eps=0.001, momentum=0.1)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreprocessor',
        # ImageNet statistics in 0..255 units, RGB
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        seg_pad_val=255),
    # The paper's segmentation backbone: output stride 16, the low-level
    # branch on the last layer at stride 8 (layer 3, 24 channels).
    backbone=dict(type='MobileNetV3', arch='small', out_indices=(3, 12),
                  output_stride=16, norm_cfg=norm_cfg),
    # in_channels, (24, 576), come from the backbone's outputs
    decode_head=dict(type='LRASPPHead', num_classes=2, channels=128,
                     norm_cfg=norm_cfg),
    loss_decode=dict(type='CrossEntropyLoss', ignore_index=255))

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=0.004, weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=max_iters,
         eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=100)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100))
log_processor = dict(by_epoch=False)
