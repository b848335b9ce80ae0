"""Domain errors: their message is written for the member of staff who caused them."""


class DeskError(Exception):
    """Something a person asked for cannot be done; str(error) tells them why and what to do."""
