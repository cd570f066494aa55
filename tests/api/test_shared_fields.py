"""Serializers that share their bound fields still validate each request on its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from patients.api import CheckInCreateSerializer


def _validate(data: Any) -> tuple[bool, Any]:
    serializer = CheckInCreateSerializer(data=data)
    ok = serializer.is_valid()
    return ok, (serializer.validated_data if ok else serializer.errors)


def test_fields_are_bound_once_to_an_empty_prototype() -> None:
    first = CheckInCreateSerializer(data={"nprs": 1, "side": "left"})
    second = CheckInCreateSerializer(data={"nprs": 2, "side": "right"})
    assert first.fields is second.fields
    prototype = first.fields["nprs"].parent
    assert prototype is not first and prototype is not second
    assert not hasattr(prototype, "initial_data")  # no request's data is kept


def test_each_instance_gets_its_own_result_under_threads() -> None:
    cases: list[tuple[Any, bool, str]] = []
    for n in range(200):
        if n % 3 == 0:
            cases.append(({"nprs": n % 11, "side": "left", "note": f"n{n}"}, True, f"n{n}"))
        elif n % 3 == 1:
            cases.append(({"nprs": 11 + n, "side": "left"}, False, "nprs"))
        else:
            cases.append(({"nprs": 3, "side": "up", "flag_fever": "yes"}, False, "side"))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda case: _validate(case[0]), cases))
    for (data, expect_ok, marker), (ok, payload) in zip(cases, results, strict=True):
        assert ok is expect_ok, data
        if ok:
            assert payload["note"] == marker and payload["nprs"] == data["nprs"]
        else:
            assert marker in payload
            if marker == "side":
                assert set(payload) == {"side", "flag_fever"}
