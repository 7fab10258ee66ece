"""The machine a figure was measured on, in words."""
import os
import platform


def machine() -> str:
    """CPU model, core count and 1-minute load average, in words."""
    name = platform.processor() or platform.machine()
    if os.path.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            names = [line.split(':', 1)[1].strip() for line in f
                     if line.startswith('model name')]
        name = names[0] if names else name
    load = f', load average {os.getloadavg()[0]:.1f}' \
        if hasattr(os, 'getloadavg') else ''
    return f'{name}, {os.cpu_count()} cores{load}'
