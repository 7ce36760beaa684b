"""Input checks and rule resolution of the torch backend (names and messages of normtest._validate)."""

from __future__ import annotations

import numpy as np
import torch

from .._validate import _got, check_bool
from ..ecf.rules import QuadratureRule, check_quadrature, get_rule

__all__ = ["as_tensor", "check_distributed", "finite_amax", "needs_spread", "resolve_rule"]


def as_tensor(x, name, min_ndim=1):
    if isinstance(x, torch.Tensor):
        t = x
    else:
        if hasattr(x, "dtype") and getattr(x.dtype, "kind", "f") in "bcOUS":
            raise TypeError(f"`{name}` must hold real numbers. Got dtype {x.dtype} instead.")
        try:
            t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must be a real floating tensor or array-like. {_got(x)}") from exc
    if not t.is_floating_point():
        if t.dtype in (torch.complex64, torch.complex128) or t.dtype == torch.bool:
            raise TypeError(f"`{name}` must be a real floating tensor. Got dtype {t.dtype} instead.")
        t = t.to(torch.get_default_dtype())
    if t.dim() < min_ndim:
        raise ValueError(f"`{name}` must have at least {min_ndim} dimension(s). Got shape "
                         f"{tuple(t.shape)} instead.")
    if t.numel() == 0:
        raise ValueError(f"`{name}` must not be empty. Got shape {tuple(t.shape)} instead.")
    return t


def check_distributed(distributed):
    if distributed is None:
        dist = torch.distributed
        return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    return check_bool(distributed, "distributed")


_NO_EXACT = ("`quadrature` must be a quadrature rule in normtest.torch: 'exact' (the O(n^2) closed form) "
             "is available in normtest.epps_pulley only. Got 'exact' instead.")


def needs_spread(quadrature) -> bool:
    return isinstance(quadrature, str) and quadrature == "auto"


def finite_amax(v):
    """The largest finite entry of `v` (0 if none), for sizing the 'auto' rule.

    NaN or inf data give a NaN statistic whatever the rule (NaN input propagates), so they
    must neither fail the rule's own check nor size the rule of the other columns and batch
    elements.
    """
    if not v.numel():
        return torch.zeros((), dtype=v.dtype, device=v.device)
    return torch.where(torch.isfinite(v), v, torch.zeros_like(v)).amax()


def resolve_rule(quadrature, beta, spread=None) -> QuadratureRule:
    """The rule of a ``quadrature=`` argument (names from the one list, ``QUADRATURE_NAMES``)."""
    kind, rule = check_quadrature(quadrature, beta, exact_error=_NO_EXACT)
    return rule if kind == "rule" else get_rule("auto", beta, spread=spread)
