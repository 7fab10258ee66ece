"""Inject faults and bad inputs into mbv3 and count how each was handled: a
shim of :mod:`mbv3.cli.reliability_report`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('reliability_report')
