"""Export a config + checkpoint to an OpenVINO IR (int8: NNCF) and
check it against eager on real photos.

    python tools/deployment/export_openvino.py CONFIG CHECKPOINT OUT.xml \
        [--fuse] [--shape H W] [--int8 OUT_INT8.xml]
"""
from mbv3.deploy.export import main

if __name__ == '__main__':
    main(runtime='openvino')
