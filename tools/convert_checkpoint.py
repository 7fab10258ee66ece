"""Convert a published MobileNetV3 checkpoint to mbv3.

    python tools/convert_checkpoint.py SRC DST [--source S] [--weights NAME]
    python tools/convert_checkpoint.py NAME DST   # published weights by name
"""
import sys

from mbv3.convert.cli import main
from mbv3.convert.hub import WeightsHashError
from mbv3.utils.checkpoint import UnsafeCheckpointError

if __name__ == '__main__':
    try:
        main()
    except (ValueError, OSError, UnsafeCheckpointError,
            WeightsHashError) as err:
        sys.exit(f'error: {err}')
