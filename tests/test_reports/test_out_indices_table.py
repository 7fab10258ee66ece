"""The out_indices table of docs/backbone_api.md is the generator's
output, and says what the backbone does."""
import os

import pytest

from mbv3.reports.generated import replace_section
from mbv3.reports.out_indices_table import (BEGIN, END, NAME, PAGE,
                                            out_indices_markdown,
                                            out_indices_rows)
from tests.conftest import REPO


def test_docs_table_is_generated():
    assert PAGE == 'docs/backbone_api.md'
    with open(os.path.join(REPO, PAGE), encoding='utf-8') as f:
        page = f.read()
    table = out_indices_markdown()
    assert table in page, ('docs/backbone_api.md table is stale: run '
                           'python tools/analysis_tools/out_indices_table.py'
                           ' --update docs/backbone_api.md')
    assert replace_section(page, NAME, table) == page


def test_rows_match_references():
    rows = {row[0]: row for row in out_indices_rows('large')}
    # torchvision lraspp: features.4 (40 ch, stride 8), features.16 (960);
    # ssdlite C4: 672 channels at stride 16; reduced tail last conv 480.
    assert rows['4'][4:] == (40, 40, 8, 8, 8)
    assert rows["'13.expand'"][4:] == (672, 672, 16, 16, 8)
    assert rows['16'][4:] == (960, 480, 32, 16, 8)
    small = {row[0]: row for row in out_indices_rows('small')}
    # mmdet RetinaNet example: small layers 3, 8, 11 -> 24, 48, 96 channels
    assert [small[i][4] for i in ('3', '8', '11')] == [24, 48, 96]


def test_tool_prints_and_updates(tmp_path, capsys):
    from mbv3.cli.out_indices_table import main
    main([])
    assert capsys.readouterr().out.strip() == out_indices_markdown()
    readme = tmp_path / 'README.md'
    readme.write_text(f'# x\n{BEGIN}\nold\n{END}\n## License\n')
    main(['--update', str(readme)])
    assert readme.read_text() == f'# x\n{out_indices_markdown()}\n' \
        '## License\n'


def test_update_needs_markers():
    with pytest.raises(ValueError, match="expected one generated section "
                       "'out-indices-table'.*found 0"):
        replace_section('# no markers', NAME, 'table')
