"""``mlorg monitor``: a drift detector setting's detection lag and false alarms, beside the quickest detection
possible at the same false-alarm rate."""

from __future__ import annotations

import argparse
import json
import math

from mlorg import formatting
from mlorg.cli.options import UsageError, input_option, json_option
from mlorg.cli.output import columns, finite_or_none
from mlorg.monitoring.characteristics import (
    DETECTORS,
    SEQUENTIAL_DETECTORS,
    Monitor,
    OperatingPoint,
    default_threshold,
    meets_budget,
    operating_point,
    shift_from_psi,
    sweep,
)


def add_commands(sub) -> None:
    monitor = sub.add_parser(
        "monitor", help="detection lag and false alarms of a drift detector setting",
        description="Expected detection lag and false alarms of one drift detector, from its statistic's sampling "
                    "distribution, beside the quickest-detection reference: a CUSUM tuned to the same drift with "
                    "the same false-alarm rate (Lorden 1971, Moustakides 1986).")
    monitor.add_argument("--detector", choices=DETECTORS, required=True)
    monitor.add_argument("--threshold", type=input_option("--threshold", "threshold"), metavar="X",
                         help="alarm threshold in the detector's terms (KS: a p-value); default: the detector's")
    monitor.add_argument("--window", type=input_option("--window", "window"), required=True, metavar="N",
                         help="samples compared with the reference at each check")
    monitor.add_argument("--cadence-hours", type=input_option("--cadence-hours", "cadence_hours"), required=True,
                         metavar="H", help="hours between checks")
    monitor.add_argument("--drift-size", type=input_option("--drift-size", "drift_size"), required=True, metavar="D",
                         help="σ of mean shift per sample, or the population PSI with --drift-kind psi")
    monitor.add_argument("--drift-kind", choices=("mean-shift", "psi"), default="mean-shift")
    monitor.add_argument("--traffic-per-hour", type=input_option("--traffic-per-hour", "traffic_per_hour"), metavar="T",
                         help="samples per hour (default: window / cadence, one fresh window per check)")
    monitor.add_argument("--reference-rows", type=input_option("--reference-rows", "reference_rows"), metavar="M",
                         help="KS only: rows of the reference it compares with (default: so many it is the "
                              "population); a finite reference adds its own noise and slows detection")
    monitor.add_argument("--bins", type=input_option("--bins", "bins"), default=10,
                         help="bins of PSI and Jensen–Shannon (default 10, the reference's deciles)")
    monitor.add_argument("--sweep", action="store_true", help="print the lag vs false-alarm trade-off over thresholds")
    monitor.add_argument("--budget", type=input_option("--budget", "budget"), default=1.0, metavar="F",
                         help="false alarms per month the sweep's recommended threshold may raise (default 1)")
    json_option(monitor)
    monitor.set_defaults(handler=cmd_monitor)


def cmd_monitor(args: argparse.Namespace) -> int:
    shift = shift_from_psi(args.drift_size) if args.drift_kind == "psi" else args.drift_size
    traffic = args.traffic_per_hour if args.traffic_per_hour is not None else args.window / args.cadence_hours
    threshold = args.threshold if args.threshold is not None else default_threshold(args.detector)
    try:
        monitor = Monitor(detector=args.detector, threshold=threshold, window=args.window,
                          cadence_hours=args.cadence_hours, traffic_per_hour=traffic, bins=args.bins,
                          reference_rows=args.reference_rows)
    except ValueError as exc:
        raise UsageError(f"--{str(exc).replace('_', '-')}") from None
    point = operating_point(monitor, shift)
    points = sweep(monitor, shift) if args.sweep else []
    best = meets_budget(points, args.budget) if args.sweep else None
    if args.json:
        out = _point_json(point)
        if args.sweep:
            out["sweep"] = [_point_json(p) for p in points]
            out["budget"] = {"false_alarms_per_month": args.budget,
                             "threshold": best.threshold if best else None}
        print(json.dumps(out, allow_nan=False))
        return 0
    checks = "observation" if args.detector in SEQUENTIAL_DETECTORS else "check"
    print(f"{args.detector} at threshold {threshold:g}: window {args.window:,} samples every {args.cadence_hours:g} h "
          f"at {traffic:g} samples/h"
          + (f", against a reference of {args.reference_rows:,} rows" if args.reference_rows else "")
          + f"; drift of {shift:.3g}σ per sample"
          + (f" (population PSI {args.drift_size:g})" if args.drift_kind == "psi" else "") + "\n")
    never = f"cannot detect a {shift:.3g}σ drift at this threshold"
    rows = [("figure", "value"),
            (f"false alarm probability per {checks}", formatting.small(point.false_alarm_probability)),
            ("false alarms per month", formatting.small(point.false_alarms_per_month)),
            ("ARL0 (samples between false alarms)", formatting.count(point.arl0_samples)),
            ("detection lag (drift at a random moment)", formatting.lag(point.detection_lag_hours, reason=never)),
            ("detection lag", formatting.lag(point.detection_lag_samples, "sample", reason="")),
            ("worst-case lag", formatting.lag(point.worst_case_lag_samples, "sample", reason="")),
            ("optimal CUSUM delay at the same ARL0", _bound(point.optimal_delay_samples, point.arl0_samples)),
            ("ln(ARL0) / KL, Lorden's asymptote (above it at any finite ARL0)",
             _bound(point.lorden_approx_samples, point.arl0_samples))]
    print(columns(rows))
    if not math.isfinite(point.arl0_samples):
        print("\nno false alarm is expected at this threshold, so there is no finite ARL0 to compare with")
    if args.sweep:
        print(f"\nlag vs false alarms over thresholds ({args.detector}):")
        table = [("threshold", "false alarms/month", "lag", "lag (samples)", "optimal (samples)")]
        for p in points:
            table.append((f"{p.threshold:.4g}", formatting.small(p.false_alarms_per_month),
                          formatting.lag(p.detection_lag_hours, reason=""),
                          formatting.lag(p.detection_lag_samples, "sample", reason=""),
                          _bound(p.optimal_delay_samples, p.arl0_samples)))
        print(columns(table))
        if best is None:
            print(f"\nno threshold swept keeps false alarms within {args.budget:g} per month")
        else:
            print(f"\nwithin {formatting.quantity(args.budget, 'false alarm')} per month: threshold "
                  f"{best.threshold:.4g} detects in {formatting.lag(best.detection_lag_hours)} with "
                  f"{formatting.small(best.false_alarms_per_month)} false alarms per month")
    return 0


def _bound(samples: float, arl0: float) -> str:
    """The quickest-detection reference: none without a finite ARL0 to tune it to."""
    return formatting.lag(samples, "sample", reason="") if math.isfinite(arl0) else "— (no finite ARL0)"


def _point_json(p: OperatingPoint) -> dict:
    return {"detector": p.detector, "threshold": p.threshold, "shift_sd": p.shift,
            "false_alarm_probability": finite_or_none(p.false_alarm_probability),
            "detection_lag_samples": finite_or_none(p.detection_lag_samples),
            "detection_lag_hours": finite_or_none(p.detection_lag_hours),
            "worst_case_lag_samples": finite_or_none(p.worst_case_lag_samples),
            "false_alarms_per_month": finite_or_none(p.false_alarms_per_month),
            "arl0_samples": finite_or_none(p.arl0_samples),
            "optimal_delay_samples": finite_or_none(p.optimal_delay_samples),
            "lorden_approx_samples": finite_or_none(p.lorden_approx_samples)}
