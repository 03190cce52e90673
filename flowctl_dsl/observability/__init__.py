"""Operations: Prometheus metrics, structured logs, tracing, progress, profiling and the summary.

:mod:`~flowctl_dsl.observability.metrics` defines every ``flowctl_*`` metric;
:mod:`~flowctl_dsl.observability.session` ties one run's exporters together.
"""
