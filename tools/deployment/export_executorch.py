"""Export a config + checkpoint to an ExecuTorch .pte on XNNPACK (int8: XNNPACK quantizer) and
check it against eager on real photos.

    python tools/deployment/export_executorch.py CONFIG CHECKPOINT OUT.pte \
        [--fuse] [--shape H W] [--int8 OUT_INT8.pte]
"""
from mbv3.deploy.export import main

if __name__ == '__main__':
    main(runtime='executorch')
