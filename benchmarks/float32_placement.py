"""How the rounding of a float32 product depends on the cuts and the BLAS threads (docs/cluster.md).

Prints, for tiles of T rows at global row offsets (zero rows padding partial tiles):
how many of 30 random cuts of the rows change any bit with a fixed thread count, how many rows
differ between 1 and 2 BLAS threads, and how many rows differ between one untiled call and the
tiles. Run it with the machine's BLAS settings and with ``env -u OPENBLAS_CORETYPE -u
OPENBLAS_L2_SIZE`` to compare OpenBLAS's kernels. normtest's placed products
(``normtest.ecf._stream._placed_product``) are the T = 256 case on one thread.
"""

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits


def tiled(X, Bt, lo, hi, T):
    """The projections of rows lo..hi, every row in the T-row tile its global index falls in."""
    M, D = Bt.shape
    out = np.empty((M, hi - lo), np.float32)
    for a in range((lo // T) * T, hi, T):
        tile = np.zeros((T, D), np.float32)
        s, e = max(a, lo), min(a + T, hi)
        tile[s - a:e - a] = X[s:e]
        out[:, s - lo:e - lo] = np.matmul(Bt, tile.T)[:, s - a:e - a]
    return out


def main(N=40_000, D=128, M=256, trials=30):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((N, D), dtype=np.float32)
    Bt = np.ascontiguousarray(rng.standard_normal((D, M)).astype(np.float32).T)
    blas = [(i["internal_api"], i.get("version"), i.get("architecture")) for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"{N} x {D} float32 rows onto {M} directions; BLAS {blas}")
    for T in (256, 1024, 4096):
        for threads in (1, 2):
            with threadpool_limits(threads):
                ref = tiled(X, Bt, 0, N, T)
                bad = 0
                for _ in range(trials):
                    edges = [0, *np.sort(rng.choice(np.arange(1, N), 5, replace=False)), N]
                    got = np.concatenate([tiled(X, Bt, a, b, T) for a, b in zip(edges, edges[1:])], axis=1)
                    bad += int((got != ref).any())
                plain = np.matmul(Bt, X.T)
            with threadpool_limits(3 - threads):
                other = tiled(X, Bt, 0, N, T)
            print(f"T={T:5d}, {threads} thread(s): cuts changing a bit {bad}/{trials}; rows differing with "
                  f"{3 - threads} thread(s) {(other != ref).any(axis=0).mean():.4f}; rows differing from one "
                  f"untiled call {(plain != ref).any(axis=0).mean():.4f}")


if __name__ == "__main__":
    main()
