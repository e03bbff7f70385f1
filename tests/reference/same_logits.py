#!/usr/bin/env python3
"""same_logits.py A.bin B.bin: two `mtnlg generate --dump-logits` files (f64 rows of the 50257-token
vocabulary) hold as many rows, at least one, and agree to max |a - b| <= 1e-9 max |a|. Exit 1 otherwise."""
import sys

import numpy as np

a, b = (np.fromfile(p, dtype="<f8").reshape(-1, 50257) for p in sys.argv[1:3])
assert a.shape == b.shape and a.shape[0] > 0, (a.shape, b.shape)
worst = np.abs(a - b).max() / np.abs(a).max()
assert worst <= 1e-9, f"max |difference| / max |logit| = {worst:.3g}"
print(f"  {a.shape[0]} positions, max |difference| / max |logit| = {worst:.2e}")
