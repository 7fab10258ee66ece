# MobileNetV3-Small on ImageNet-1k with torchvision's recipe, on 8 GPUs
# x 128 images:
#  tools/dist_train.sh configs/mobilenet_v3/mobilenet-v3-small_8xb128_in1k.py 8
_base_ = [
    '../_base_/models/mobilenet-v3-small.py',
    '../_base_/datasets/imagenet_bs128_mbv3.py',
    '../_base_/schedules/imagenet_bs1024_rmsprop_600e.py',
    '../_base_/default_runtime.py',
]
