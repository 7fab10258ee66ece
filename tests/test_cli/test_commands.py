"""One command layer: every command is ``mbv3.cli.<module>.main``, every
``tools/`` script and console script runs one."""
import glob
import importlib
import os
import re
import sys

import pytest

from mbv3.cli import COMMANDS, console, run
from tests.conftest import REPO, run_tool


def tool_scripts():
    return sorted(glob.glob(os.path.join(REPO, 'tools', '**', '*.py'),
                            recursive=True))


def test_every_tool_script_is_a_shim_of_a_command():
    shims = {}
    for path in tool_scripts():
        text = open(path).read()
        found = re.search(r"^if __name__ == '__main__':\n    run\('(\w+)'\)$",
                          text.rstrip(), re.M)
        if os.path.basename(path) in ('check_docs.py',
                                      'own_data_result.py'):
            continue  # check or measure this checkout's docs: not package
            # commands
        assert found, f'{path} is not a shim of mbv3.cli'
        assert '\nfrom mbv3.cli import run\n' in text
        shims[found.group(1)] = path
    assert sorted(shims) == sorted(COMMANDS.values())


@pytest.mark.parametrize('module', sorted(COMMANDS.values()))
def test_every_command_has_main_and_runs_as_a_module(module):
    command = importlib.import_module(f'mbv3.cli.{module}')
    assert callable(command.main)
    text = open(command.__file__).read()
    assert text.rstrip().endswith(
        f"if __name__ == '__main__':\n    from mbv3.cli import run\n"
        f"    run('{module}')")


def test_console_dispatches_on_the_script_name(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['/usr/bin/mbv3-vis-curves', '--help'])
    with pytest.raises(SystemExit) as done:
        console()
    assert done.value.code == 0
    assert 'Loss and validation curves' in capsys.readouterr().out
    monkeypatch.setattr(sys, 'argv', ['mbv3-nothing'])
    with pytest.raises(SystemExit, match="unknown mbv3 command "
                       "'mbv3-nothing'; one of"):
        console()


def test_convert_command_line_reports_a_user_error_in_one_line(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    out = run_tool('convert_checkpoint.py', missing,
                   str(tmp_path / 'out.safetensors'))
    assert out.returncode == 1
    assert out.stderr == (f"error: FileNotFoundError: checkpoint {missing!r} "
                          f"does not exist (--debug shows the traceback)\n")
    with pytest.raises(ValueError, match=r"^output file must end in one of "
                       r"\('\.pth', '\.safetensors'\), got 'x\.txt'$"):
        run('convert', [missing, 'x.txt'])
    with pytest.raises(FileNotFoundError):  # main raises for callers
        importlib.import_module('mbv3.cli.convert').main(
            [missing, 'x.pth'])


def test_int8_accuracy_refuses_a_qat_model_without_its_float_model():
    from mbv3.cli.int8_accuracy import main
    with pytest.raises(ValueError, match=r"--qat names \['textures'\] have "
                       r"no --model of the same name; the --model names are "
                       r"\['digits'\]"):
        main(['--model', 'digits', 'A.py', 'a.pth',
              '--qat', 'textures', 'B.py', 'b.pth'])


@pytest.mark.parametrize('module, argv, message', [
    ('int8_accuracy', ['--model', 'd', 'A.py', 'a.pth', '--model', 'd',
                       'B.py', 'b.pth'],
     r"--model names \['d'\] more than once"),
    ('int8_accuracy', ['--model', 'd', 'A.py', 'a.pth', '--calib-images',
                       '-1'], '--calib-images must be an int >= 1, got -1'),
    ('export_onnx', ['A.py', 'none', 'x.onnx', '--shape', '0', '-5'],
     r'--shape must be two ints >= 1 \(H W\), got 0'),
    ('export_openvino', ['A.py', 'none', 'x.onnx'],
     "openvino writes .xml files, got 'x.onnx'"),
])
def test_command_arguments_are_checked_before_any_work(module, argv,
                                                       message):
    # the errors name the command-line option, before a file is read
    main = importlib.import_module(f'mbv3.cli.{module}').main
    with pytest.raises(ValueError, match=message):
        main(argv)


@pytest.mark.parametrize('text, message', [
    ('', "defines no model"),
    ('model = dict(\n', r"is not valid Python: '\(' was never closed "
     r'\(line 1\)'),
])
def test_a_broken_config_is_named(tmp_path, text, message):
    from mbv3.cli.flops import main
    config = tmp_path / 'broken.py'
    config.write_text(text)
    with pytest.raises(ValueError, match=re.escape(repr(str(config))) +
                       f' {message}'):
        main([str(config)])
    with pytest.raises(FileNotFoundError, match='is a folder, not a config '
                       'file'):
        main([str(tmp_path)])


@pytest.mark.parametrize('module', sorted(set(COMMANDS.values())))
def test_every_command_prints_errors_in_one_line(module):
    main = importlib.import_module(f'mbv3.cli.{module}').main
    # mbv3.cli._command.command wraps it (functools.wraps sets __wrapped__)
    assert hasattr(main, '__wrapped__')


def test_debug_is_taken_by_the_wrapper(monkeypatch, capsys):
    from mbv3.cli.weights import main
    monkeypatch.setattr(sys, 'argv', ['mbv3-weights', 'fetch', 'nope',
                                      '--debug'])
    with pytest.raises(ValueError, match="unknown weights 'nope'"):
        main()
    monkeypatch.setattr(sys, 'argv', ['mbv3-weights', 'fetch', 'nope'])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ValueError: unknown weights 'nope'")
    assert err.count('\n') == 1
