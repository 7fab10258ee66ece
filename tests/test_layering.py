"""mbv3's layers read top-down: no module imports from a layer above its
own (``docs/architecture.md``). Every import is read with ``ast``, those
inside functions included."""
import ast
import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'mbv3'

# From the bottom up; a module's layer is that of its longest listed
# prefix.
LAYERS = (
    ('mbv3.registry', 'mbv3.structures', 'mbv3.version'),
    # utils: checkpoint I/O, config lookup, MAC counting, argument checks
    ('mbv3.models', 'mbv3.utils'),
    ('mbv3.datasets', 'mbv3.evaluation', 'mbv3.engine',
     'mbv3.visualization'),
    ('mbv3.convert', 'mbv3.deploy'),
    ('mbv3.apis', ),
    ('mbv3.reports', ),
    ('mbv3.cli', ),
    # the package root: what ``import mbv3`` (``custom_imports``) runs; it
    # may use any layer, and no module imports it
    ('mbv3', ),
)

def layer_of(module: str) -> int:
    best, level = '', None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + '.')) \
                    and len(prefix) > len(best):
                best, level = prefix, i
    assert level is not None, module
    return level


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imports_of(path: pathlib.Path):
    """Every mbv3 module ``path`` imports (relative imports resolved,
    ``from pkg import module`` read as ``pkg.module``)."""
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = _from_targets(node, package)
        else:
            continue
        yield from (t for t in targets if t.split('.')[0] == 'mbv3')


def _from_targets(node: ast.ImportFrom, package: str):
    base = node.module or ''
    if node.level:
        anchor = package.split('.')
        anchor = anchor[:len(anchor) - node.level + 1]
        base = '.'.join(anchor + ([base] if base else []))
    targets = [base]
    for alias in node.names:
        sub = PACKAGE.parent.joinpath(*f'{base}.{alias.name}'.split('.'))
        if sub.is_dir() or sub.with_suffix('.py').is_file():
            targets.append(f'{base}.{alias.name}')
    return targets


def upward_imports():
    """``'<module> imports <target>'`` for each import from a higher
    layer."""
    for path in sorted(PACKAGE.rglob('*.py')):
        name = module_name(path)
        for target in imports_of(path):
            if layer_of(target) > layer_of(name):
                yield f'{name} imports {target}'


def test_layer_of_reads_the_longest_prefix():
    assert layer_of('mbv3.models.backbones.mobilenet_v3') == 1
    assert layer_of('mbv3.cli.train') == len(LAYERS) - 2
    assert layer_of('mbv3') == len(LAYERS) - 1
    assert layer_of('mbv3.registry') == 0
    with pytest.raises(AssertionError):
        layer_of('torch')


def test_no_module_imports_from_a_layer_above():
    assert list(upward_imports()) == []


def test_an_upward_import_inside_a_function_is_seen(tmp_path, monkeypatch):
    module = tmp_path / 'mbv3' / 'models' / 'late.py'
    module.parent.mkdir(parents=True)
    module.write_text('def f():\n    from ..apis import init_model\n')
    monkeypatch.setattr(f'{__name__}.PACKAGE', tmp_path / 'mbv3')
    assert list(imports_of(module)) == ['mbv3.apis']


def test_architecture_doc_lists_the_layers_in_order():
    text = (PACKAGE.parent / 'docs' / 'architecture.md').read_text()
    section = text.split('<!-- layer-order')[1].split('<!-- end')[0]
    items = re.findall(r'^\d+\. (.*?)(?=^\d+\. |\Z)', section, re.M | re.S)
    named = [tuple(re.findall(r'`(mbv3[\w.]*)`', item)) for item in items]
    assert [set(n) for n in named] == [set(layer) for layer in LAYERS]
