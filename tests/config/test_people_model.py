"""The config model of a set of people: IDs validated, every bad one named."""

import pytest
from pydantic import ValidationError

from bot.config.people_model import PeopleModel
from bot.core.people import People


def test_users_and_groups_become_the_pure_value() -> None:
    model = PeopleModel(users=["U0123ABCD"], usergroups=["S0123ABCD"])
    assert model.people() == People(frozenset({"U0123ABCD"}), frozenset({"S0123ABCD"}))
    assert not model.is_empty
    assert PeopleModel().is_empty


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("users", ["@alice"], "Slack user IDs"),
        ("users", ["S0123ABCD"], "Slack user IDs"),
        ("usergroups", ["@comms-desk"], "user group IDs"),
        ("usergroups", ["U0123ABCD"], "user group IDs"),
    ],
)
def test_something_that_is_not_an_id_is_named_with_a_hint(
    field: str, value: list[str], hint: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        PeopleModel(**{field: value})
    assert hint in str(raised.value) and value[0] in str(raised.value)
