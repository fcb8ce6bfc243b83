"""Sonde from Python: the specification's Python interfaces on Sonde's core.

One module per specification document, each with that document's names:

- :mod:`sonde.aggregator` -- spec 000 (``codomyrmex.telemetry.metrics``)
- :mod:`sonde.telemetry` -- spec 002 (``codomyrmex.telemetry``)
- :mod:`sonde.collector` -- spec 003 (``utilityfog_frontend.telemetry``)
- :mod:`sonde.specs` -- spec 004 (``geno_lewm.metrics``)

The instruments, registries, spans, event logs, StatsD client and servers
are Rust classes (``sonde._native``) over Sonde's handles; every one of
them is safe to share between threads.
"""

from sonde._native import Counter, Gauge, Histogram, Registry

__all__ = ["Counter", "Gauge", "Histogram", "Registry"]
__version__ = "0.1.0"
