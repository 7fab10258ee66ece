"""Published MobileNetV3 weights by name.

    python tools/weights.py list
    python tools/weights.py fetch NAME [NAME ...]
"""
import sys

from mbv3.convert.weights_cli import ERRORS, main

if __name__ == '__main__':
    try:
        main()
    except ERRORS as err:
        sys.exit(f'error: {err}')
