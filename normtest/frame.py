"""Placeholder: being implemented (see the open issue)."""

def check(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("check is not implemented yet")

