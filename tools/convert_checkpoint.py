"""Convert a published MobileNetV3 checkpoint to mbv3.

    python tools/convert_checkpoint.py SRC DST [--source S] [--weights NAME]
"""
import sys

from mbv3.convert.cli import main
from mbv3.utils.checkpoint import UnsafeCheckpointError

if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError, UnsafeCheckpointError) as err:
        sys.exit(f'error: {err}')
