"""TreeSHAP with what depends only on the trees worked out once per model.

LightGBM's `pred_contrib` runs the TreeSHAP recursion (Lundberg et al. 2020, algorithm 2) from scratch for every
row: for a model of 75 trees of 31 leaves that is about 0.65 ms of CPU per row, most of a case explained on request.
The same values (path-dependent TreeSHAP, exact) follow from a per-leaf formula whose only row-dependent part is
which of the leaf's path conditions the row meets, so everything else is computed here once (the idea of Fast
TreeSHAP v2, Yang 2021). For a leaf with value v whose path splits on the d distinct features U, let z_j be the
share of training rows that follow the path's branches on feature j (the product of child count / node count over
the path's splits on j) and o_j = 1 if the row follows all of them, else 0. Then feature i in U gets

    phi_i += v (o_i - z_i) sum_{S subset of U - {i}} |S|! (d - 1 - |S|)! / d! prod_{j in S} o_j prod_{j in U - {i} - S} z_j

which, with P = {j : o_j = 1}, is v (o_i - z_i) (Z_U / z_i) G(P - {i}) for G(A) = sum_{S subset of A} w(|S|) / Z_S
(Z_X = prod_{j in X} z_j): G is tabled over every subset of each leaf's U (2^d numbers). A row then costs one
depth-first pass over each tree, carrying the features on which the row has left the path, and one table read per
(leaf, feature), compiled with numba: with the model's arrays in the CPU's caches a fifth of pred_contrib's time and
a third of the same formula as numpy passes; from memory, where a row's 1.7 MB of reads are the time, about the
numpy passes' time and 0.45-0.75x pred_contrib's (bench/RESULTS.md). The decisions follow LightGBM's (Tree::NumericalDecision,
Tree::CategoricalDecision: missing types, default directions, category bitsets); `TreeShap.build` compares the
result with `pred_contrib` on probe rows and returns None (callers use LightGBM) for a model it does not cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

# A leaf whose path splits on more distinct features than this would need too big a table (2^d numbers).
_MAX_DISTINCT = 20
_MAX_TABLE = 1 << 24  # numbers in all tables together (128 MiB); beyond, LightGBM's recursion is used
_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (1e-35f): magnitudes up to it are zero to it
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_AGREE = 1e-9  # largest difference from pred_contrib on the probe rows that build accepts


@dataclass(frozen=True)
class TreeShap:
    """The model's nodes and per-leaf tables, flattened over all trees (see the module docstring)."""

    n_features: int
    tree_root: np.ndarray  # per tree with a split: its root node
    node_feature: np.ndarray  # per internal node
    node_threshold: np.ndarray
    node_left_if_nan: np.ndarray  # the way a NaN goes there (its missing type and default direction)
    node_left_if_zero: np.ndarray  # the way a zero goes (a default direction where zero is the missing type)
    node_cat: np.ndarray  # the node's row in cat_left, -1 for a numerical split
    cat_left: np.ndarray  # categorical node x category code -> goes left
    node_bit: np.ndarray  # 1 << the position of the node's feature among the distinct features of its path
    node_children: np.ndarray  # nodes x 2 (left, right): a node's index, or ~leaf for a leaf
    leaf_entries: np.ndarray  # leaf l has entries leaf_entries[l]:leaf_entries[l + 1], one per distinct feature
    leaf_table: np.ndarray  # where the leaf's table starts
    entry_feature: np.ndarray
    entry_factor: np.ndarray  # entries x 2: -v Z_U where the row leaves the path on feature i somewhere, else
    # v Z_U (1 - z_i) / z_i (a pair, so that the kernel picks one by index instead of by a branch it mispredicts)
    table: np.ndarray  # G(A) of every leaf, A as a bit mask over its distinct features

    @classmethod
    def build(cls, booster: Any) -> TreeShap | None:
        """The tables for a LightGBM Booster, or None where its trees are not covered (several outputs per
        iteration, linear trees, tables too big) or the result differs from pred_contrib on probe rows."""
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1 or booster.params.get("linear_tree"):
            return None
        parts = _Parts(dump["max_feature_idx"] + 1)
        for tree in dump["tree_info"]:
            if not parts.add_tree(tree["tree_structure"]):
                return None
        shap = parts.finish()
        return shap if _agrees(shap, booster) else None

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """n x F contributions of the rows (raw score, without the expected value), as pred_contrib's first F
        columns: tens of microseconds a row."""
        X = np.ascontiguousarray(X, dtype=np.float64).reshape(-1, self.n_features)
        return _contributions(X, self.tree_root, self.node_feature, self.node_threshold, self.node_left_if_nan,
                              self.node_left_if_zero, self.node_cat, self.cat_left, self.node_bit, self.node_children,
                              self.leaf_entries, self.leaf_table, self.entry_feature, self.entry_factor, self.table)


@numba.njit(cache=True, nogil=True)
def _contributions(X, tree_root, node_feature, node_threshold, left_if_nan, left_if_zero, node_cat, cat_left,
                   node_bit, node_children, leaf_entries, leaf_table, entry_feature, entry_factor, table):
    out = np.zeros(X.shape)
    left = np.empty(len(node_feature), dtype=np.bool_)
    stack_node = np.empty(len(node_feature) + 1, dtype=np.int64)
    stack_fails = np.empty(len(node_feature) + 1, dtype=np.int64)
    for r in range(X.shape[0]):
        x = X[r]
        for k in range(len(node_feature)):  # which way the row goes at each node (True: left), as LightGBM decides
            v = x[node_feature[k]]
            if node_cat[k] >= 0:  # NaN, negative and unseen categories go right; the rest by the split's category set
                left[k] = v >= 0 and v < cat_left.shape[1] and cat_left[node_cat[k], int(v)]
            elif np.isnan(v):
                left[k] = left_if_nan[k]
            elif abs(v) <= _ZERO:  # a NaN where NaN is not the missing type is 0, and so is any magnitude under it
                left[k] = left_if_zero[k]
            else:
                left[k] = v <= node_threshold[k]
        for root in tree_root:
            # Depth first down every path, carrying the bit mask of the path's features on which the row has left
            # it somewhere above: at a leaf, P is the leaf's features less those.
            stack_node[0], stack_fails[0], top = root, 0, 1
            while top:
                top -= 1
                node, fails = stack_node[top], stack_fails[top]
                if node >= 0:
                    bit = node_bit[node]
                    away_left, away_right = (0, bit) if left[node] else (bit, 0)
                    stack_node[top], stack_fails[top] = node_children[node, 1], fails | away_right
                    stack_node[top + 1], stack_fails[top + 1] = node_children[node, 0], fails | away_left
                    top += 2
                    continue
                leaf = ~node
                first, last = leaf_entries[leaf], leaf_entries[leaf + 1]
                follows = ((1 << (last - first)) - 1) & ~fails
                at = leaf_table[leaf]
                for e in range(first, last):
                    on = (follows >> (e - first)) & 1
                    out[r, entry_feature[e]] += entry_factor[e, on] * table[at + (follows & ~(1 << (e - first)))]
    return out


class _Parts:
    """Collects the flat arrays tree by tree, nodes and leaves in depth-first order (left first)."""

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self.tree_root: list[int] = []
        self.nodes: list[tuple[int, float, bool, int, list[int] | None]] = []
        self.node_bit: list[int] = []
        self.node_children: list[list[int]] = []
        self.leaf_entries: list[int] = [0]
        self.leaf_table: list[int] = []
        self.entry_feature: list[int] = []
        self.entry_factor: list[tuple[float, float]] = []
        self.tables: list[np.ndarray] = []
        self.table_size = 0

    def add_tree(self, root: dict[str, Any]) -> bool:
        if "split_index" not in root:
            return True  # one leaf: all of it is the expected value, no feature gets anything
        self.tree_root.append(len(self.nodes))
        return self._walk(root, []) is not None

    def _walk(self, node: dict[str, Any], path: list[tuple[int, float]]) -> int | None:
        """Depth first; `path` holds (feature, child count / node count) down to here. Returns the node's code
        (its index, or ~leaf), None where the model is not covered."""
        if "split_index" not in node:
            return self._add_leaf(float(node["leaf_value"]), path)
        index = len(self.nodes)
        feature = int(node["split_feature"])
        categorical = node["decision_type"] == "=="
        categories = [int(c) for c in str(node["threshold"]).split("||")] if categorical else None
        threshold = math.inf if categorical else float(node["threshold"])
        self.nodes.append((feature, threshold, bool(node["default_left"]), _MISSING[node["missing_type"]], categories))
        # Distinct features in the order they first appear from the root, so a node's position holds for every leaf
        # below it.
        distinct = list(dict.fromkeys(f for f, _ in path))
        self.node_bit.append(1 << (distinct.index(feature) if feature in distinct else len(distinct)))
        self.node_children.append([0, 0])
        count = float(node["internal_count"])
        for side, child in enumerate((node["left_child"], node["right_child"])):
            code = self._walk(child, [*path, (feature, _count(child) / count)])
            if code is None:
                return None
            self.node_children[index][side] = code
        return index

    def _add_leaf(self, value: float, path: list[tuple[int, float]]) -> int | None:
        distinct = list(dict.fromkeys(feature for feature, _ in path))
        d = len(distinct)
        if d > _MAX_DISTINCT or self.table_size + (1 << d) > _MAX_TABLE:
            return None
        z = np.array([math.prod(s for f, s in path if f == j) for j in distinct])
        everything = float(np.prod(z))
        for position, feature in enumerate(distinct):
            self.entry_feature.append(feature)
            self.entry_factor.append((-value * everything, value * everything * (1.0 - z[position]) / z[position]))
        self.leaf_table.append(self.table_size)
        self.tables.append(_subset_table(z))
        self.table_size += 1 << d
        self.leaf_entries.append(len(self.entry_feature))
        return ~(len(self.leaf_entries) - 2)

    def finish(self) -> TreeShap:
        nodes = self.nodes
        cat_nodes = [i for i, n in enumerate(nodes) if n[4] is not None]
        width = 1 + max((max(nodes[i][4] or [0]) for i in cat_nodes), default=0)
        cat_left = np.zeros((len(cat_nodes), width), dtype=bool)
        for row, i in enumerate(cat_nodes):
            cat_left[row, nodes[i][4]] = True
        node_cat = np.full(len(nodes), -1, dtype=np.int64)
        node_cat[cat_nodes] = np.arange(len(cat_nodes))
        threshold = np.array([n[1] for n in nodes])
        default_left = np.array([n[2] for n in nodes], dtype=bool)
        missing = np.array([n[3] for n in nodes], dtype=np.int64)
        # (Categorical nodes are decided apart, by cat_left.)
        zero_left = np.where(missing == _MISSING["Zero"], default_left, threshold >= 0.0)
        nan_left = np.where(missing == _MISSING["NaN"], default_left, zero_left)

        return TreeShap(
            n_features=self.n_features,
            tree_root=np.array(self.tree_root, dtype=np.int64),
            node_feature=np.array([n[0] for n in nodes], dtype=np.int64),
            node_threshold=threshold,
            node_left_if_nan=nan_left,
            node_left_if_zero=zero_left,
            node_cat=node_cat,
            cat_left=cat_left,
            node_bit=np.array(self.node_bit, dtype=np.int64),
            node_children=np.array(self.node_children, dtype=np.int64).reshape(-1, 2),
            leaf_entries=np.array(self.leaf_entries, dtype=np.int64),
            leaf_table=np.array(self.leaf_table, dtype=np.int64),
            entry_feature=np.array(self.entry_feature, dtype=np.int64),
            entry_factor=np.array(self.entry_factor, dtype=np.float64).reshape(-1, 2),
            table=np.concatenate(self.tables) if self.tables else np.zeros(1),
        )


def _count(node: dict[str, Any]) -> float:
    return float(node["internal_count"] if "split_index" in node else node["leaf_count"])


def _subset_table(z: np.ndarray) -> np.ndarray:
    """G(A) = sum over S subset of A of |S|! (d - 1 - |S|)! / d! / prod_{j in S} z_j, for every bit mask A."""
    d = len(z)
    inverse = np.ones(1 << d)  # 1 / Z_S
    size = np.zeros(1 << d, dtype=np.int64)  # |S|
    for bit in range(d):
        step = 1 << bit
        view, sizes = inverse.reshape(-1, 2, step), size.reshape(-1, 2, step)
        view[:, 1, :] = view[:, 0, :] / z[bit]
        sizes[:, 1, :] = sizes[:, 0, :] + 1
    weights = np.array([math.factorial(s) * math.factorial(d - 1 - s) / math.factorial(d) if s < d else 0.0
                        for s in range(d + 1)])
    table = weights[size] * inverse
    for bit in range(d):  # sum over subsets, one bit at a time
        view = table.reshape(-1, 2, 1 << bit)
        view[:, 1, :] += view[:, 0, :]
    return table


def _agrees(shap: TreeShap, booster: Any) -> bool:
    """Same contributions as LightGBM on rows that take every branch kind: zeros, NaNs, and rows cut from the
    model's own thresholds."""
    n = shap.n_features
    rng = np.random.default_rng(0)
    probes = [np.zeros(n), np.full(n, np.nan)]
    for _ in range(16):
        row = np.zeros(n)
        for j in range(n):
            at = shap.node_threshold[shap.node_feature == j]
            if len(at):
                t = at[rng.integers(len(at))]
                row[j] = float(rng.integers(shap.cat_left.shape[1] + 1)) if math.isinf(t) else t + rng.choice([-1e-3, 0, 1e-3])
        row[rng.random(n) < 0.2] = np.nan
        probes.append(row)
    X = np.vstack(probes)
    expected = np.asarray(booster.predict(X, pred_contrib=True, num_threads=1))[:, :n]
    return bool(np.allclose(shap.contributions(X), expected, rtol=0, atol=_AGREE))
