"""Placeholder: being implemented (see the open issue)."""

def anderson(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("anderson is not implemented yet")

def cramervonmises(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("cramervonmises is not implemented yet")

