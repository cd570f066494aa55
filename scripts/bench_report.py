"""The record a `make bench` run writes (docs/benchmarks.md): the machine it ran on, and what
changed against the figures the file held before. Used by scripts/bench.py."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "ram": ram,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


_FIGURE = re.compile(r"^(?:- )?(?P<label>[^*|]*?)[\d.,/=\s]*\*\*(?P<value>[^*]+)\*\*")
_WITHDRAWN = {
    "## API check-in throughput": (
        "The API check-in throughput ratio (API / a bare one-INSERT view, target >= 0.5) is withdrawn "
        "(issue 14): the check-in path uses Django REST framework and the ORM as they come, and the "
        "morning peak measures what a clinic network needs instead. The bare view stays, as the "
        "reference rate beside the API's in the morning peak."
    ),
}


def headline_figures(text: str) -> dict[str, str]:
    """The bold figures of a benchmarks document, keyed "section / label" (the section up to any ':').

    ``text``: the Markdown that main() writes. Returns label -> the bold value as written.
    """
    found: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("#"):
            section = line.lstrip("#").strip().split(":", 1)[0]
            continue
        # A quoted note (such as an out-of-date banner) holds no figure of the run.
        match = None if line.startswith(">") else _FIGURE.match(line)
        if match:
            label = match["label"].strip().rstrip(":=").strip()
            found[f"{section} / {label}"] = match["value"].strip()
    return found


def what_changed(previous: str, current: list[str]) -> list[str]:
    """The closing section: each headline figure of ``previous`` (the file as it was) against this run's.

    ``current``: this run's lines so far. Returns Markdown lines (none if there was no previous file).
    """
    if not previous.strip():
        return []
    stamp = re.search(r"^- date: (.+)$", previous, flags=re.MULTILINE)
    lines = [
        "## What changed against the previous figures",
        "",
        f"Against the previous run ({stamp.group(1) if stamp else 'date unknown'}); the machine may differ.",
        "",
    ]
    before, now = headline_figures(previous), headline_figures("\n".join(current))
    for key, value in now.items():
        if key in before:
            change = "unchanged" if before[key] == value else f"{before[key]} -> {value}"
            lines.append(f"- {key}: {change}")
        else:
            lines.append(f"- {key}: {value} (new)")
    gone = [key for key in before if key not in now]
    for heading, note in _WITHDRAWN.items():
        if heading in previous:
            gone = [key for key in gone if not key.startswith(heading.lstrip("#").strip())]
            old = {k: v for k, v in before.items() if k.startswith(heading.lstrip("#").strip())}
            lines.append(f"- {note} Its last figures: {', '.join(f'{k}: {v}' for k, v in old.items())}.")
    lines += [f"- {key}: {before[key]} (not measured in this run)" for key in gone]
    return [*lines, ""]
