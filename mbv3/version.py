__version__ = '0.1.0'

# The oldest torch mbv3 runs on: torch.serialization.safe_globals (safe
# checkpoint loading), torch.onnx.export(dynamo=False) and the public
# nn.Module.register_load_state_dict_pre_hook all first appear in 2.5.
MIN_TORCH = (2, 5)


def check_torch(version: str) -> None:
    """Raise ImportError, in one line, when ``version`` (a
    ``torch.__version__`` such as '2.4.1+cpu') is older than
    :data:`MIN_TORCH`."""
    parts = version.split('+')[0].split('.')[:2]
    found = tuple(int(''.join(c for c in p if c.isdigit()) or 0)
                  for p in parts)
    if found < MIN_TORCH:
        need = '.'.join(map(str, MIN_TORCH))
        raise ImportError(
            f'mbv3 needs torch >= {need} (torch.serialization.safe_globals, '
            f'torch.onnx.export(dynamo=False)); found torch {version}: pip '
            f'install "torch>={need}"')
