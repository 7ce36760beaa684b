"""Placeholder: being implemented (see the open issue)."""

def bhep(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("bhep is not implemented yet")

def henze_zirkler(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("henze_zirkler is not implemented yet")

def sliced_epps_pulley(*args, **kwargs):  # placeholder until implemented
    raise NotImplementedError("sliced_epps_pulley is not implemented yet")

