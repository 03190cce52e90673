"""The ``flowctl run`` flags for metrics, logs, traces, progress and profiling."""

from __future__ import annotations

import argparse

from flowctl_dsl.observability.session import ObserveSettings


def add_run_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("observability")
    g.add_argument(
        "--metrics-port", type=int, metavar="N", help="serve /metrics on 127.0.0.1:N while running"
    )
    g.add_argument("--pushgateway", metavar="ADDR", help="push the final metrics to a Pushgateway")
    g.add_argument("--metrics-file", metavar="PATH", help="write the final metrics (text format)")
    g.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="export OpenTelemetry spans over OTLP/HTTP (default: $OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    g.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="default info"
    )
    g.add_argument(
        "--log-format",
        choices=["auto", "json", "text"],
        default="auto",
        help="log lines on stderr: text on a terminal, JSON otherwise (auto)",
    )
    g.add_argument("--profile", metavar="PATH", help="write a cProfile CPU profile (pstats)")
    g.add_argument(
        "--progress",
        choices=["auto", "bar", "log", "off"],
        default="auto",
        help="a bar on a terminal, periodic log lines otherwise (auto); --quiet turns it off",
    )
    g.add_argument(
        "--progress-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds between progress log lines",
    )


def configure_logging(args: argparse.Namespace) -> None:
    from flowctl_dsl.observability import logging as obs_logging

    level = args.log_level or ("warning" if args.quiet else "info")
    obs_logging.configure(level, args.log_format)


def observe_settings(args: argparse.Namespace) -> ObserveSettings:
    return ObserveSettings(
        metrics_port=args.metrics_port,
        pushgateway=args.pushgateway,
        metrics_file=args.metrics_file,
        otlp_endpoint=args.otlp_endpoint,
        profile=args.profile,
        progress="off" if args.quiet else args.progress,
        progress_interval=args.progress_interval,
    )
