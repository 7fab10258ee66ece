"""init_dist_cpu_safe: gloo on CPU-only machines, for torchrun and Slurm."""
import os
import socket

import pytest
import torch
import torch.distributed as dist

from mbv3.engine.mmengine_patches import init_dist_cpu_safe


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='with CUDA mmengine initialises nccl itself')
def test_slurm_launcher_on_cpu_reads_slurm_variables(monkeypatch):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = str(s.getsockname()[1])
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '0')
    monkeypatch.setenv('SLURM_NTASKS', '1')
    monkeypatch.setenv('SLURM_NODELIST', 'node0')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')  # no scontrol here
    monkeypatch.setenv('MASTER_PORT', port)
    init_dist_cpu_safe('slurm')
    try:
        assert dist.get_backend() == 'gloo'
        assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    finally:
        dist.destroy_process_group()


def test_no_launcher_initialises_nothing():
    init_dist_cpu_safe('none')
    assert not dist.is_initialized()


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='with CUDA mmengine initialises nccl itself')
def test_slurm_master_address_is_the_first_host_scontrol_lists(
        tmp_path, monkeypatch):
    # a stand-in for Slurm's scontrol on PATH: it records its arguments
    # and expands the node list to two hosts
    args_file = tmp_path / 'scontrol_args'
    scontrol = tmp_path / 'bin' / 'scontrol'
    scontrol.parent.mkdir()
    scontrol.write_text('#!/bin/sh\n'
                        f'echo "$@" > {args_file}\n'
                        'printf "127.0.0.1\\nlocalhost\\n"\n')
    scontrol.chmod(0o755)
    monkeypatch.setenv('PATH', f'{scontrol.parent}{os.pathsep}'
                       f'{os.environ["PATH"]}')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = str(s.getsockname()[1])
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '0')
    monkeypatch.setenv('SLURM_NTASKS', '1')
    monkeypatch.setenv('SLURM_NODELIST', 'node[7-8]')
    monkeypatch.setenv('MASTER_PORT', port)
    init_dist_cpu_safe('slurm')
    try:
        assert args_file.read_text().split() == ['show', 'hostnames',
                                                 'node[7-8]']
        assert os.environ['MASTER_ADDR'] == '127.0.0.1'
        assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    finally:
        dist.destroy_process_group()
