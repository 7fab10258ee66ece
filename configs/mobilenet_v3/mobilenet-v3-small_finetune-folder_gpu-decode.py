# The fine-tune recipe with JPEG decoding and augmentation on the GPU:
#   python tools/train.py configs/mobilenet_v3/mobilenet-v3-small_finetune-folder_gpu-decode.py --data-root DIR
# The loader workers only read the files; the data preprocessor decodes
# each batch with nvJPEG (torchvision.io.decode_jpeg) and runs
# torchvision's transforms.v2 on the device (JpegClsDataPreprocessor).
# The same transforms as the CPU recipe, in torchvision's implementation;
# antialias=False resamples as the CPU recipe's OpenCV bilinear does, so
# both give the same pixels within 1 level (tests/test_models/
# test_classifiers/test_jpeg_preprocessor.py). JPEG files only; on a CPU
# it runs too (decoding with libjpeg-turbo).
_base_ = ['./mobilenet-v3-small_finetune-folder.py']

data_preprocessor = dict(
    type='JpegClsDataPreprocessor',
    train_transforms=[
        dict(type='RandomResizedCrop', size=224, antialias=False),
        dict(type='RandomHorizontalFlip', p=0.5)],
    test_transforms=[dict(type='Resize', size=256, antialias=False),
                     dict(type='CenterCrop', size=224)])
file_pipeline = [dict(type='LoadImageBytes'),
                 dict(type='PackInputs', input_key='img_bytes')]
train_dataloader = dict(dataset=dict(pipeline=file_pipeline))
val_dataloader = dict(dataset=dict(pipeline=file_pipeline))
test_dataloader = val_dataloader
