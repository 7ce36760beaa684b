"""Placeholder: being implemented (see the open issue)."""

def ecdf(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("ecdf is not implemented yet")

class ECDFResult:  # placeholder
    pass

