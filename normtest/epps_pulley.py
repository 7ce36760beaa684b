"""Placeholder: being implemented (see the open issue)."""

def epps_pulley(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("epps_pulley is not implemented yet")

