"""Check or rewrite the figures README.md and docs/*.md quote: a shim of
:mod:`mbv3.cli.doc_figures`."""
from mbv3.cli import run

if __name__ == '__main__':
    run('doc_figures')
