# The digits recipe with the two training-speed switches on: channels_last
# batches (data_preprocessor) and bf16 autocast (AmpOptimWrapper; fp16 on
# CUDA with dtype='float16'). Both pay off on GPUs; on a 2-core CPU at 32x32
# they are not faster (see docs/benchmarks.md).
#   python tools/train.py \
#       configs/mobilenet_v3/mobilenet-v3-small_digits_bf16-channels-last.py
_base_ = ['./mobilenet-v3-small_digits.py']

data_preprocessor = dict(channels_last=True)
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
