import pytest

from library.models import Exercise


@pytest.mark.django_db
def test_library_loads(library: None) -> None:
    assert Exercise.objects.count() >= 30
