"""``mlorg drift compare`` and ``mlorg drift tune``: drift statistics and thresholds on the user's own feature
files (CSV or Parquet)."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

from mlorg import formatting
from mlorg.cli.options import UsageError, float_option, int_option, json_option, progress_bar, seed_option
from mlorg.cli.output import columns, finite_or_none, fmt, write_whole
from mlorg.monitoring.detectors import DEFAULTS
from mlorg.monitoring.feature_examples import DRIFTED, write_pair
from mlorg.monitoring.feature_files import FeatureFileError
from mlorg.monitoring.file_drift import FILE_DETECTORS, FeatureDrift, TuneResult, compare_files, flagged, tune_file
from mlorg.monitoring.file_tuning import TuneSettings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)?\s*$")
_HOURS = {"m": 1 / 60, "min": 1 / 60, "h": 1.0, None: 1.0, "d": 24.0, "w": 168.0}


def duration_option(flag: str):
    """An argparse type for a time span: ``90m``, ``24h``, ``1d``, ``1w`` or a bare number of hours; in hours."""
    def parse(text: str) -> float:
        match = _DURATION.match(text)
        if not match or float(match.group(1)) <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; must be a duration > 0 such as 30m, 24h, "
                                             "1d or 1w (a bare number is hours)")
        return float(match.group(1)) * _HOURS[match.group(2)]
    parse.__name__ = flag
    return parse


def _column_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; must be column names separated by commas")
    return names


def add_commands(sub) -> None:
    drift = sub.add_parser("drift", help="drift statistics and tuned thresholds on your own feature files",
                           description="Drift statistics and thresholds on your own feature files (CSV or Parquet, "
                                       "read with DuckDB).")
    commands = drift.add_subparsers(required=True, metavar="COMMAND")
    compare = commands.add_parser(
        "compare", help="PSI, KS, Wasserstein and Jensen–Shannon per feature between two files",
        description="Compare every feature of CURRENT with REFERENCE: PSI and Jensen–Shannon on the reference's "
                    "deciles (numeric) or values (categorical), the KS p-value and the Wasserstein distance normed by "
                    "the reference's standard deviation (numeric only); missing values count as their own bin.")
    compare.add_argument("reference", type=Path, metavar="REFERENCE")
    compare.add_argument("current", type=Path, metavar="CURRENT")
    _common(compare)
    compare.add_argument("--thresholds", type=Path, metavar="FILE",
                         help="per-column thresholds written by `mlorg drift tune --out` (their detector decides)")
    json_option(compare)
    compare.set_defaults(handler=cmd_compare)
    tune = commands.add_parser(
        "tune", help="per-feature thresholds from the reference's own null, for a false-alarm budget",
        description="Thresholds per feature from REFERENCE's own null distribution: windows built from blocks of "
                    "consecutive hours drawn from the reference in time order (a moving-block bootstrap, so daily "
                    "cycles and autocorrelation count), each compared with the rest of the reference; the threshold "
                    "keeps false alarms within the budget, and the lag it gives for --shift is shown.")
    tune.add_argument("reference", type=Path, metavar="REFERENCE")
    tune.add_argument("--time-column", required=True, metavar="NAME", help="the column with each row's time")
    tune.add_argument("--window", type=duration_option("--window"), required=True, metavar="W",
                      help="the span each check compares with the reference, e.g. 24h or 1d")
    tune.add_argument("--cadence", type=duration_option("--cadence"), required=True, metavar="C",
                      help="time between checks, e.g. 24h")
    tune.add_argument("--budget", type=float_option("--budget", 1e-6, 1e6), default=1.0, metavar="F",
                      help="false alarms a month across all tuned features (default 1), split evenly between them")
    tune.add_argument("--shift", type=float_option("--shift", 1e-6, 100.0), default=0.5, metavar="D",
                      help="mean shift, in reference standard deviations, whose detection lag is shown (default 0.5)")
    tune.add_argument("--draws", type=int_option("--draws", 100, 100_000), default=1000, metavar="N",
                      help="windows drawn from the reference (default 1000)")
    tune.add_argument("--block", type=duration_option("--block"), metavar="B",
                      help="length of the blocks a window is built from (default: the whole window, one block)")
    _common(tune)
    seed_option(tune)
    tune.add_argument("--out", type=Path, metavar="FILE", help="write the thresholds as JSON for `drift compare`")
    json_option(tune)
    tune.set_defaults(handler=cmd_tune)
    example = commands.add_parser(
        "example", help="write a generated reference and current feature file to try these on",
        description="Write DIR/reference.<format> (30 days of ROWS rows, an hourly time column with a daily cycle, "
                    "numeric and categorical features, some missing) and DIR/current.<format> (the next day, with "
                    "five features drifted in known ways: see mlorg.monitoring.feature_examples).")
    example.add_argument("directory", type=Path, metavar="DIR")
    example.add_argument("--rows", type=int_option("--rows", 60, 10_000_000), default=30_000, metavar="N",
                         help="reference rows (default 30,000); the current file has a day's worth")
    example.add_argument("--columns", type=int_option("--columns", 8, 200), default=20, metavar="K",
                         help="features per file (default 20)")
    example.add_argument("--format", choices=("csv", "parquet"), default="csv")
    seed_option(example)
    example.set_defaults(handler=cmd_example)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--columns", type=_column_list, metavar="A,B,…", help="compare only these columns")
    parser.add_argument("--detector", choices=FILE_DETECTORS, default="psi",
                        help="the detector that decides drift (default psi)")
    parser.add_argument("--bins", type=int_option("--bins", 2, 1000), default=10,
                        help="bins of PSI and Jensen–Shannon (default 10, the reference's deciles)")


def cmd_compare(args: argparse.Namespace) -> int:
    saved = _read_thresholds(args.thresholds, args.detector) if args.thresholds else {}
    thresholds = saved.get("thresholds", {})
    try:
        comparison = compare_files(args.reference, args.current, args.columns, bins=args.bins)
    except FeatureFileError as exc:
        raise UsageError(str(exc)) from None
    drifts = comparison.drifts
    drifted = flagged(drifts, args.detector, thresholds)
    if args.json:
        print(json.dumps({"reference": str(args.reference), "current": str(args.current), "detector": args.detector,
                          "features": [_drift_json(d, args.detector, thresholds.get(d.column)) for d in drifts],
                          "drifted": drifted, "skipped": {c.name: c.note for c in comparison.skipped}},
                         allow_nan=False))
        return 0
    rows = [("column", "kind", "missing", "psi", "ks p-value", "wasserstein", "jensen-shannon", "drift")]
    for d in drifts:
        verdict = d.drifted(args.detector, thresholds.get(d.column))
        missing = f"{formatting.share(d.reference_missing)} → {formatting.share(d.current_missing)}"
        rows.append((d.column, d.kind, missing, fmt(d.psi), _p(d.ks), _na(d.wasserstein), fmt(d.jensen_shannon),
                     "n/a" if verdict is None else ("DRIFT" if verdict else "")))
    print(f"{args.current} ({drifts[0].current_rows:,} rows) against {args.reference} ({drifts[0].reference_rows:,} "
          "rows)\n")
    print(columns(rows))
    where = "the tuned thresholds" if thresholds else f"{DEFAULTS[args.detector].threshold:g} (its default)"
    print(f"\n{len(drifted)} of {len(drifts)} features drift by {args.detector} at {where}"
          + (f": {', '.join(drifted)}" if drifted else ""))
    if any(d.kind == "categorical" for d in drifts):
        print("KS and Wasserstein need an order, so categorical features get PSI and Jensen–Shannon only (n/a).")
    for column in comparison.skipped:
        print(f"not compared: {column.name} ({column.note}); name it in --columns to be told why it cannot be")
    rows_tuned, rows_now = saved.get("window_rows"), drifts[0].current_rows
    if rows_tuned and not 0.5 <= rows_now / rows_tuned <= 2:
        more = rows_now > rows_tuned
        print(f"! The thresholds were tuned for windows of ≈ {rows_tuned:,.0f} rows and this file has {rows_now:,}: "
              f"with {'more' if more else 'fewer'} rows the statistics run {'smaller' if more else 'larger'} with no "
              f"drift, so the thresholds {'miss more drift' if more else 'alarm more often'} than tuned for.")
    return 0


def _p(x: float) -> str:
    return "n/a" if math.isnan(x) else formatting.small(x)


def _na(x: float) -> str:
    return "n/a" if math.isnan(x) else fmt(x)


def _drift_json(d: FeatureDrift, detector: str, threshold: float | None) -> dict:
    return {"column": d.column, "kind": d.kind, "reference_rows": d.reference_rows, "current_rows": d.current_rows,
            "reference_missing": d.reference_missing, "current_missing": d.current_missing,
            "psi": finite_or_none(d.psi), "ks_pvalue": finite_or_none(d.ks),
            "ks_statistic": finite_or_none(d.ks_distance),
            "wasserstein": finite_or_none(d.wasserstein) if not math.isinf(d.wasserstein) else "inf",
            "jensen_shannon": finite_or_none(d.jensen_shannon),
            "threshold": threshold if threshold is not None else DEFAULTS[detector].threshold,
            "drifted": d.drifted(detector, threshold)}


def _read_thresholds(path: Path, detector: str) -> dict:
    """A thresholds file as `drift tune --out` writes it: the detector, per-column thresholds and the median rows of
    the windows they were tuned on."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        tuned_detector = saved["detector"]
        thresholds = {str(k): float(v) for k, v in saved["thresholds"].items()}
        window_rows = float(saved.get("window_rows") or 0)
    except OSError as exc:
        raise UsageError(f"--thresholds: {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(f"--thresholds: {path} is not a thresholds file written by `mlorg drift tune --out`") from None
    if tuned_detector != detector:
        raise UsageError(f"--thresholds: {path} holds {tuned_detector} thresholds; pass --detector {tuned_detector}")
    return {"thresholds": thresholds, "window_rows": window_rows}


def cmd_tune(args: argparse.Namespace) -> int:
    try:
        settings = TuneSettings(detector=args.detector, window_hours=args.window, cadence_hours=args.cadence,
                                budget_per_month=args.budget, shift=args.shift, draws=args.draws,
                                block_hours=args.block, bins=args.bins, seed=args.seed)
    except ValueError as exc:
        raise UsageError("--" + str(exc).replace("_hours", "").replace("_", "-")) from None
    try:
        result = tune_file(args.reference, args.time_column, settings, args.columns,
                           progress=progress_bar("features", show=not args.json))
    except FeatureFileError as exc:
        raise UsageError(re.sub(r"^window_hours:", "--window:", str(exc))) from None
    saved = {"detector": settings.detector, "window_hours": settings.window_hours,
             "window_rows": result.thresholds[0].window_rows,
             "thresholds": {t.column: t.threshold for t in result.thresholds}}
    if args.out:
        write_whole(args.out, json.dumps(saved, indent=2) + "\n", "--out")
    if args.json:
        print(json.dumps(_tune_json(result), allow_nan=False))
        return 0
    print(_tune_text(result))
    if args.out:
        print(f"\nthresholds written to {args.out}: `mlorg drift compare REFERENCE CURRENT --detector "
              f"{settings.detector} --thresholds {args.out}`")
    return 0


def cmd_example(args: argparse.Namespace) -> int:
    try:
        reference, current = write_pair(args.directory, args.rows, args.seed, columns=args.columns,
                                        file_format=args.format)
    except OSError as exc:
        raise UsageError(f"{args.directory}: {exc.strerror or exc}") from None
    print(f"wrote {reference} and {current}; drifted: {', '.join(DRIFTED)}")
    return 0


def _tune_text(result: TuneResult) -> str:
    s = result.settings
    first = result.thresholds[0]
    blocks = round(s.window_hours / (s.block_hours or s.window_hours))
    lines = [f"{s.detector} thresholds for {formatting.quantity(s.budget_per_month, 'false alarm')} a month across "
             f"{len(result.thresholds)} features: checks every {s.cadence_hours:g} h of the last {s.window_hours:g} h "
             f"(≈ {first.window_rows:,.0f} rows); each check of each feature may alarm with probability "
             f"{formatting.small(first.per_check_probability)}.",
             f"The null: {s.draws:,} windows drawn from {result.rows:,} reference rows over "
             f"{formatting.lag(result.span_hours)} ({result.independent_windows:,.1f} windows side by side)"
             + (f", each of {blocks} blocks" if s.block_hours else "")
             + ".", ""]
    default = DEFAULTS[s.detector].threshold
    rows = [("column", "kind", f"false alarms/month at {default:g}", "tuned threshold", "tail",
             f"lag for {s.shift:g}σ", "worst lag")]
    for t in result.thresholds:
        rows.append((t.column, t.kind, formatting.small(t.default_false_alarms_per_month), _threshold(t.threshold),
                     t.tail, "n/a" if math.isnan(t.lag_hours) else formatting.lag(t.lag_hours, reason="never"),
                     "n/a" if math.isnan(t.worst_lag_hours) else formatting.lag(t.worst_lag_hours, reason="never")))
    lines.append(columns(rows))
    if any(t.tail == "gamma" for t in result.thresholds):
        lines.append("\ngamma: the reference's separate windows do not reach the tail the budget asks for, so the "
                     "threshold comes from a gamma matched to the draws' mean and variance (the statistic is "
                     "asymptotically a scaled χ²).")
    if result.few_windows:
        lines.append(f"\n! The reference holds only {result.independent_windows:.1f} windows side by side: the null "
                     "rests on little. Use a longer reference, or a shorter --window.")
    if any(t.kind == "categorical" for t in result.thresholds):
        lines.append("A shift in standard deviations means nothing for a category, so categorical features get no "
                     "lag (n/a).")
    return "\n".join(lines)


def _threshold(x: float) -> str:
    return f"{x:.4g}"


def _tune_json(result: TuneResult) -> dict:
    s = result.settings
    return {"detector": s.detector, "window_hours": s.window_hours, "cadence_hours": s.cadence_hours,
            "budget_per_month": s.budget_per_month, "shift_sd": s.shift, "draws": s.draws, "seed": s.seed,
            "reference_rows": result.rows, "span_hours": result.span_hours,
            "independent_windows": result.independent_windows,
            "features": [{"column": t.column, "kind": t.kind, "threshold": t.threshold, "tail": t.tail,
                          "per_check_probability": t.per_check_probability,
                          "default_false_alarms_per_month": t.default_false_alarms_per_month,
                          "lag_hours": finite_or_none(t.lag_hours),
                          "worst_lag_hours": finite_or_none(t.worst_lag_hours),
                          "window_rows": t.window_rows} for t in result.thresholds]}
