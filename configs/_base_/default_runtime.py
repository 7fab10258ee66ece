default_scope = 'mbv3'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    throughput=dict(type='ThroughputHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Reliability (docs/reliability.md): resume reproduces an
    # uninterrupted run; a NaN/inf loss stops training (action='skip' drops
    # the step instead); SIGTERM/SIGINT save a checkpoint before exiting
    # (signals=() turns it off); the head must match the data set's classes;
    # image files skipped with LoadImageFromFile(skip_bad_files=True) are
    # counted at the end.
    resume_seed=dict(type='DeterministicResumeHook'),
    nonfinite_loss=dict(type='NonFiniteLossHook', action='error'),
    signal_checkpoint=dict(type='SignalCheckpointHook'),
    num_classes_check=dict(type='NumClassesCheckHook'),
    bad_file_report=dict(type='BadFileReportHook'),
    # mbv3's commands apply the mmengine 0.10.7 fixes themselves; this hook
    # applies them when another library's tools run an mbv3 config
    # (mmpretrain's tools/test.py, --resume)
    mmengine_fixes=dict(type='MMEngineFixesHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# Scalars go to <work_dir>/<timestamp>/vis_data/scalars.json; add
# dict(type='TensorboardVisBackend') (or pass --tensorboard) for TensorBoard.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
