"""Time mbv3 beside torchvision and timm MobileNetV3, interleaved.

    python tools/analysis_tools/benchmark.py --arch large --batch 1 \
        [--deploy] [--onnx] [--mode train] [--channels-last] [--compile] \
        [--dtype bf16] [--device cuda]
"""
from mbv3.deploy.benchmark import main

if __name__ == '__main__':
    main()
