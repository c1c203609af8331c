"""Library and command-line messages in the Monitoring tuner's words: the field as the form labels it where the
message names a parameter or a flag."""

from __future__ import annotations

import streamlit as st

# Parameters the library names first in a message, with the label of the field that sets them.
FIELD_LABELS = {"threshold": "Threshold", "window_hours": "Window (hours)", "window": "Window (samples)",
                "cadence_hours": "Check every (hours)", "traffic_per_hour": "Traffic (samples/hour)", "bins": "Bins",
                "budget_per_month": "False alarms a month, all features", "shift": "Shift for the lag (σ)",
                "draws": "Windows drawn", "reference_rows": "Reference rows (KS)"}
# Command-line flags a message may suggest, with the field that does the same here.
FLAG_LABELS = {"--columns": "Columns", "--detector": "Detector"}


def page_words(message: str) -> str:
    for name, label in FIELD_LABELS.items():
        if message.startswith(name + " ") or message.startswith(name + ":"):
            message = label + message[len(name):]
            break
    for flag, label in FLAG_LABELS.items():
        message = message.replace(flag, label)
    return message


def show_error(message: str) -> None:
    st.error(page_words(message))
