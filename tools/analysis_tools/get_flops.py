"""Parameters, MACs, activations and non-linearity ops of a config's model.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W]
"""
from mbv3.apis.get_flops import main

if __name__ == '__main__':
    main()
