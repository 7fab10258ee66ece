"""Keep freed CPU activation memory in the process (glibc ``mallopt``).

glibc returns every freed block above ``M_MMAP_THRESHOLD`` (128 KiB, raised
dynamically up to 32 MiB) to the OS and trims the heap top above
``M_TRIM_THRESHOLD``; an eager forward at batch 32 frees and reallocates
activation buffers of tens of MiB per layer, so each forward faults its
memory back in page by page. Measured here (torchvision
``mobilenet_v3_large``, batch 32, 224x224, 1 thread): about 150,000 minor
page faults per forward with glibc's defaults, 0 with both thresholds at
2 GiB. The price is a larger resident size (about +20%, the freed buffers
stay mapped for the next forward).

mbv3's training, inference and benchmark commands call
:func:`tune_allocator` at start; importing mbv3 changes nothing. Switch it
off with the ``MBV3_MALLOC=default`` environment variable (or
``--malloc default`` of ``infer`` and ``benchmark``). Where jemalloc or tcmalloc is preloaded
(``LD_PRELOAD``), that allocator is kept and glibc is not touched.
"""
import ctypes
import ctypes.util
import os

ENV_VAR = 'MBV3_MALLOC'
MODES = ('tuned', 'default')
# mallopt(3) parameter numbers, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# The largest value mallopt's int argument takes: blocks up to 2 GiB come
# from the heap and a freed heap top up to 2 GiB is kept.
KEEP_BYTES = 2**31 - 1
# Older glibc refuses mmap thresholds above HEAP_MAX_SIZE / 2 (32 MiB).
FALLBACK_MMAP_BYTES = 32 * 2**20
_PRELOADED = ('jemalloc', 'tcmalloc')


def preloaded_allocator(maps_path: str = '/proc/self/maps'):
    """Name of a jemalloc/tcmalloc library mapped into this process, or
    None (also where ``maps_path`` cannot be read)."""
    try:
        with open(maps_path) as f:
            maps = f.read()
    except OSError:
        return None
    return next((name for name in _PRELOADED if f'lib{name}' in maps), None)


def _glibc():
    """The C library, if it is glibc (it has ``mallopt`` and
    ``gnu_get_libc_version``); else None."""
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name or 'libc.so.6')
    except OSError:
        return None
    if not hasattr(libc, 'gnu_get_libc_version'):
        return None
    return libc


def tune_allocator(mode: str = None) -> str:
    """Set the process's CPU allocator up for repeated forwards.

    Args:
        mode (str, optional): 'tuned' (raise glibc's mmap and trim
            thresholds to 2 GiB) or 'default' (leave the allocator alone).
            None reads the ``MBV3_MALLOC`` environment variable, 'tuned'
            when unset.

    Returns:
        str: What the allocator now is, for the command's log, e.g.
        ``'glibc 2.36, mallopt mmap/trim thresholds 2 GiB'``.

    Raises:
        ValueError: If ``mode`` (or ``MBV3_MALLOC``) is not one of
            'tuned', 'default'.
    """
    source = 'mode'
    if mode is None:
        mode, source = os.environ.get(ENV_VAR, 'tuned'), ENV_VAR
    if mode not in MODES:
        raise ValueError(f'{source} must be one of {MODES}, got {mode!r}')
    if mode == 'default':
        return f'default (switched off: {source}=default)'
    preloaded = preloaded_allocator()
    if preloaded is not None:
        return f'{preloaded} (preloaded, kept)'
    libc = _glibc()
    if libc is None:
        return 'default (not glibc: mallopt not available)'
    libc.gnu_get_libc_version.restype = ctypes.c_char_p
    version = libc.gnu_get_libc_version().decode()
    mmap_bytes = KEEP_BYTES
    if not libc.mallopt(M_MMAP_THRESHOLD, mmap_bytes):
        mmap_bytes = FALLBACK_MMAP_BYTES
        libc.mallopt(M_MMAP_THRESHOLD, mmap_bytes)
    libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)
    return (f'glibc {version}, mallopt mmap threshold '
            f'{mmap_bytes / 2**30:.3g} GiB, trim threshold 2 GiB')
