"""Unsupervised detector: direction-aware robust z-scores within peer groups.

Every feature of a meter is compared with the median of its peer group
(customer class, optionally x district or building use) in units of a robust
standard deviation (1.4826 MAD). What counts is the departure in the
direction that points to mining (the ``suspicious`` direction of
:data:`detectors.features.FEATURES`): a vacant home is unusual too, but its
low level points *away* from mining.

Mining is *extra* power that is *machine-like*: a rig adds kilowatts a peer
does not use, and it adds them flat, day and night. So the anomaly needs
both: the evidence of excess (the level against the peers) and the evidence
of shape (flatness, night use, a lasting step, ...) are combined by a
geometric mean, which stays near 0 when either is missing. A telecom base
station is as flat as a rig but uses what its peers use; a large household
uses as much as a small rig but in a household's rhythm. Excess is also new
constant power against the meter's own past (a rig hidden on a factory's
shift load). Departures in the innocent direction count against the shape,
and a load that follows the weather (electric heating, pond aerators,
refrigeration) is explained by it: its anomaly shrinks to 0, but only down to
how unusual the load is among the weather-driven meters themselves: a flat
rig added to a farm's weather-driven load keeps its weather response, yet
raises its base load above that of the other weather-driven loads.

Scores are computed meter by meter against statistics frozen in :meth:`fit`,
so a meter's score never depends on which other meters are in the batch.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from detectors.robust import RobustStats, _column_index, resolve_directions

__all__ = [
    "DEFAULT_EXCESS",
    "DEFAULT_EXONERATE",
    "DEFAULT_GATES",
    "DEFAULT_LOG_SCALE",
    "DEFAULT_WEATHER_SHAPE",
    "UnsupervisedDetector",
]

DEFAULT_LOG_SCALE = (
    "mean_kw",
    "level_vs_peer",
    "night_day_ratio",
    "step_ratio",
    "base_step_ratio",
    "base_step_vs_peer",
    "heating_season_ratio",
)
"""Named features compared on a log scale: ratios of two loads, where 4x and 60x
differ as much as 0.25x and 4x (used when ``log_columns`` is None)."""

DEFAULT_EXCESS = ("level_vs_peer", "base_step_vs_peer", "night_floor_vs_peer")
"""Named features that measure *excess* consumption (used when ``excess`` is None):
against the peers (``level_vs_peer``) or against the meter's own past (new
constant power, ``base_step_vs_peer``, which finds rigs added to a factory's
shift load). ``mean_kw`` repeats the level within a peer group and
``contract_utilisation`` is a shape measure (mean over contracted peak)."""

DEFAULT_EXONERATE = {"temperature_sensitivity_rel": "both"}
"""``{feature: direction}`` of named features whose values away from 0 explain a
load by something other than mining (used when ``exonerate`` is None): following
the weather (electric heating negative, pond aerators and refrigeration
positive; "both" signs), gated by ``temperature_corr`` (:data:`DEFAULT_GATES`)
so that a noisy slope alone does not exonerate. Weeks of idleness do not: a rig
switched on partway makes the days before it look idle, and a vacant home
lacks the excess anyway."""

DEFAULT_GATES = {
    "night_day_ratio": "valley_night_cv",
    "valley_share": "valley_night_cv",
    "temperature_sensitivity_rel": "temperature_corr",
}
"""``{feature: gate}`` among named features (used when ``gates`` is None): the
feature's evidence counts at most as much as the gate's. Night use points to
mining only when the nightly energy is constant: storage heaters follow the
weather and electric cars charge on some nights only (valley_night_cv). The
weather explains a load only when the daily energy also correlates with the
temperature (temperature_corr), not just slopes with it."""

DEFAULT_WEATHER_SHAPE = ("base_load_ratio", "plateau_share")
"""Named shape features on which a weather-driven meter is compared with the other
weather-driven meters (used when ``weather_shape`` is None): a flat rig added to
a pond aerator's, greenhouse's or pump's load keeps the weather response that
clears the meter, but lifts its base load towards its mean (base_load_ratio)
and its time near the top level (plateau_share) above those of weather-driven
loads. Measured on the town with rigs in 12 weather-driven farm meters
(``python -m bench quality --generator town --farm-mining``, seeds 1-3): the
unsupervised AP 0.829 / 0.865 / 0.855 -> 0.916 / 0.935 / 0.906, the farm
rigs' own AP 0.020 / 0.031 / 0.026 -> 0.212 / 0.179 / 0.115 (median rank
among 957 meters about 280 -> 80-124); town, sample city (seeds 1-3) and real
households unchanged within 0.001 in AP, flagged lists identical. With all
shape features instead, the city's heating and aquaculture meters (a
weather-driven mix of their own) rose: city AP -0.03 to -0.07."""

WEATHER_NULL_DOF = 4.0
"""Degrees of freedom of the multivariate t from which
:meth:`UnsupervisedDetector.null_weather_shape` draws ordinary weather-driven meters.

The weather-driven meters are a mix of kinds (heating homes, fish ponds,
greenhouses, pumps) compared pooled, so their robust z-scores have heavier
tails than a Gaussian: in the town of ``python -m bench quality --generator
town`` (seed 1) the greenhouses sit together 2-5 robust standard deviations
above the pooled median on ``weather_shape``, where a Gaussian null puts 1 in
10,000 ordinary meters, and two of them were flagged. Four degrees of freedom
are the usual robust default for a multivariate t (Lange, Little and Taylor
1989, Robust statistical modeling using the t distribution, JASA 84(408),
881-896). Measured on the town with rigs in 12 weather-driven farm meters
(seeds 1-3): 4 flags no ordinary meter; 8 flags 7 / 2 / 2 rigs but one
greenhouse, 16 flags 8 / 5 / 2 and the same greenhouse."""

_NOT_SHAPE = ("mean_kw", "contract_utilisation")  # repeat the level; no extra shape evidence


class UnsupervisedDetector(OutlierMixin, BaseEstimator):
    """Direction-aware robust anomaly of load features within peer groups.

    For meter ``i`` and feature ``j`` with direction ``d_j`` (+1 high, -1
    low, 0 none), ``z_ij = (x_ij - median_gj) / (1.4826 MAD_gj)`` in the
    meter's peer group ``g`` (pooled when the group has fewer than
    ``min_group_size`` training meters; ratio features on a log scale).
    The signed evidence is ``e_ij = w_j clip(d_j z_ij, -counter cap, cap)``;
    a gated column's evidence is capped by its gate's: ``min(e_ij, max(e_ig, 0))``.

    - With ``excess`` columns ``X``: excess ``E = sum_{j in X} max(e_ij, 0)``,
      shape ``S = max(sum_{j not in X} e_ij, 0)``, and the anomaly is
      ``sqrt(E S) r``: a geometric mean that needs both, times the share
      ``r = clip((hi - x) / (hi - lo), 0, 1)`` of the load *not* explained
      otherwise. ``x = sum_k w_k clip(u_k x_ik / s_k, 0, cap)`` runs over the
      ``exonerate`` columns with direction ``u_k`` (``|.|`` for "both"),
      measured from 0 (a rig's value) in the pooled robust scale ``s_k``; a
      gated exonerate column counts at most as much as its gate (same
      direction). ``(lo, hi) = exonerate_range``.
    - Without: the anomaly is ``sum_j e_ij`` (e.g. on a NumPy array).

    ``score_samples = -anomaly`` (higher = more normal).

    Parameters
    ----------
    directions : None, dict or sequence, default None
        Which direction of each feature points to mining: "high", "low" or
        "none". None takes ``suspicious`` from
        :data:`detectors.features.FEATURES` for named columns and "high" for
        any other column (so on a NumPy array every column counts upwards).
        A dict ``{column name or index: direction}`` overrides some columns.
    weights : None, dict or sequence, default None
        Weight of each feature's evidence (default 1). A dict
        ``{column: weight}`` overrides some columns.
    group_column : str, int or None, default None
        Column of ``X`` holding an integer peer-group code per meter (not a
        feature: it only selects the statistics). None: one group.
    min_group_size : int, default 20
        Smallest peer group with its own statistics.
    log_columns : None or sequence, default None
        Columns compared on a log scale (values floored at 1e-3). None:
        :data:`DEFAULT_LOG_SCALE` among the named columns.
    excess : None or sequence, default None
        Columns measuring excess consumption. None: :data:`DEFAULT_EXCESS`
        among the named columns; empty: plain sum of the evidence.
    exonerate : None or dict, default None
        ``{column: "high" | "low" | "both"}``: values away from 0 in that
        direction explain the load by something other than mining (0 must be
        what a rig shows, as for the weather response). None:
        :data:`DEFAULT_EXONERATE` among the named columns.
    gates : None or dict, default None
        ``{column: gate column}``: a column's evidence (or exoneration) is
        capped by the gate's (both must point the same way). None:
        :data:`DEFAULT_GATES` among the named columns; ``{}``: no gates.
    counter : float, default 0.5
        Weight of departures in the innocent direction (0: ignore them): one
        feature counts against mining at most ``counter * cap`` robust
        standard deviations. Half the cap: a rig added to a peculiar load
        keeps the load's peculiarities (a valley-only rig gives its meter a
        strong daily rhythm; a strongly periodic home stays periodic), and
        one innocent feature should not cancel what many machine-like ones
        say. Measured over lcl, city and town seeds 1-6 against 1.0: mean
        AP 0.968 / 0.985 / 0.960 -> 0.968 / 0.986 / 0.967 (town worst seed
        0.914 -> 0.930), flagged lists alike (2 more flags in each of city
        and town over six seeds).
    weather_shape : None or sequence, default None
        Shape columns on which a meter the weather explains is compared with
        the training meters the weather explains fully (exoneration >=
        ``exonerate_range[1]``): ``sqrt(E S_w)`` with the excess ``E`` against
        its own peers and ``S_w`` the shape evidence of these columns against
        the pooled weather-driven meters, less ``weather_margin``. This replaces the weather's
        clearance, phased in over ``weather_ramp`` robust standard deviations
        of exoneration above ``exonerate_range[1]`` and never above the
        uncleared anomaly; with fewer than ``min_group_size`` weather-driven
        training meters it is skipped. None: :data:`DEFAULT_WEATHER_SHAPE`
        among the named columns; empty: the weather clears a load fully.
    weather_ramp : float, default 2.0
        Exoneration [pooled robust standard deviations] above
        ``exonerate_range[1]`` over which the comparison with weather-driven
        meters phases in. Below the upper bound a load is only partly
        explained and keeps part of its own anomaly; a flat load the weather
        barely explains (a data centre, a continuous process) must not be
        compared with farms and heating homes. Measured against 0 (the
        comparison from the upper bound on): city AP -0.01 to -0.03, as data
        centres and continuous processes rose.
    weather_margin : float, default 3.0
        Shape evidence among the weather-driven meters [robust standard
        deviations, summed over ``weather_shape``] that is noise: the usual
        outlier bound of a robust z-score. Without it, electric-heating homes
        (a weather-driven load flatter than farms and ponds) entered the
        city's flagged list: false flags per 100 meters 0.89 -> 1.17 over
        city seeds 1-3.
    weather_exclude_groups : None or sequence of int, default None
        Peer-group codes (values of ``group_column``) whose training meters
        are left out of the weather-driven reference (``weather_stats_`` and
        :meth:`null_weather_shape`), e.g. registered data centres, which are
        judged in a list of their own: the weather explains their cooling, yet
        their flat load sits far above farms and heating homes on
        ``plateau_share`` and would widen the yardstick of every weather-driven
        meter. Their own scores are unchanged in kind. None or empty: every
        weather-driven training meter counts; needs ``group_column`` otherwise.
    cap : float, default 8.0
        Largest evidence of one feature [robust standard deviations].
    exonerate_range : (float, float), default (1.0, 3.0)
        Exoneration [pooled robust standard deviations] below which a load
        is not explained at all, and from which it is explained fully (the
        anomaly becomes 0): within one standard deviation of a rig's 0 is
        noise, three is the usual outlier bound of a robust z-score.
    contamination : float, default 0.02
        Share of the training meters flagged: ``offset_`` is that quantile of
        the training scores. The default, 2 % of the meters, is an
        inspection campaign's worth of addresses in a district.

    Attributes
    ----------
    stats_ : RobustStats
        Per-group medians and robust scales of the (log-scaled) features.
    signs_ : ndarray of int, shape (n_features_in_,)
        Direction of each column (0 for ``group_column``).
    weights_, log_, excess_, used_, exonerate_, gates_ : ndarray, shape (n_features_in_,)
        Weight, log-scale flag, excess flag, whether the column feeds the
        anomaly, exoneration sign (+1, -1, 2 for both, 0 none) and gate column
        (-1 none) of each column.
    context_ : ndarray of bool, shape (n_features_in_,)
        Features without a direction (see :meth:`context_z`).
    weather_shape_ : ndarray of bool, shape (n_features_in_,)
        Columns compared among the weather-driven meters.
    weather_stats_ : RobustStats or None
        Pooled medians and robust scales of the weather-driven training
        meters outside ``weather_exclude_groups`` (None: fewer than
        ``min_group_size`` of them, or no columns).
    weather_exclude_groups_ : ndarray of int
        The peer-group codes left out of the weather-driven reference.
    offset_ : float
        ``decision_function = score_samples - offset_``; below 0 = flagged.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [1.1], [0.9], [1.0], [5.0]])
    >>> det = UnsupervisedDetector(min_group_size=2, contamination=0.2).fit(X)
    >>> det.predict(X).tolist()
    [1, 1, 1, 1, -1]
    """

    def __init__(
        self,
        directions=None,
        weights=None,
        group_column=None,
        min_group_size=20,
        log_columns=None,
        excess=None,
        exonerate=None,
        gates=None,
        counter=0.5,
        cap=8.0,
        exonerate_range=(1.0, 3.0),
        weather_shape=None,
        weather_ramp=2.0,
        weather_margin=3.0,
        weather_exclude_groups=None,
        contamination=0.02,
    ):
        self.directions = directions
        self.weights = weights
        self.group_column = group_column
        self.min_group_size = min_group_size
        self.log_columns = log_columns
        self.excess = excess
        self.exonerate = exonerate
        self.gates = gates
        self.counter = counter
        self.cap = cap
        self.exonerate_range = exonerate_range
        self.weather_shape = weather_shape
        self.weather_ramp = weather_ramp
        self.weather_margin = weather_margin
        self.weather_exclude_groups = weather_exclude_groups
        self.contamination = contamination

    # -- fitting -------------------------------------------------------------------

    def fit(self, X, y=None):
        """Learn the peer-group statistics and the flagging threshold.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_meters, n_features)
            Features of the training meters (NaN allowed: that feature gives no
            evidence). With named columns, the names select the directions.
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        self._check_params()
        owner = type(self).__name__
        names = _names(getattr(self, "feature_names_in_", None))
        p = self.n_features_in_
        self.group_index_ = (
            None
            if self.group_column is None
            else _column_index(self.group_column, names, p, owner=owner, what="group_column")
        )
        feat = self._feature_mask()
        signs = resolve_directions(self.directions, names, p, owner=owner)
        signs[~feat] = 0
        self.signs_ = signs
        self.weights_ = _weights(self.weights, names, p, owner=owner)
        self.log_ = self._flags(self.log_columns, DEFAULT_LOG_SCALE, names, "log_columns")
        self.excess_ = self._flags(self.excess, DEFAULT_EXCESS, names, "excess") & (signs != 0)
        self.exonerate_ = self._exonerate(names)
        self.gates_ = self._gates(names)
        # Columns that feed the anomaly: all directional ones, or excess + shape.
        used = signs != 0
        if self.excess_.any() and names is not None:
            used &= ~np.isin(names, _NOT_SHAPE) | self.excess_
        self.used_ = used
        self.context_ = (signs == 0) & feat
        self.stats_ = RobustStats.fit(
            self._scaled(X)[:, feat], self._codes(X), min_group_size=self.min_group_size
        )
        self.weather_shape_ = (
            self._flags(self.weather_shape, DEFAULT_WEATHER_SHAPE, names, "weather_shape")
            & used
            & ~self.excess_
        )
        self.weather_exclude_groups_ = self._excluded_groups()
        self.weather_stats_ = None
        if self.weather_shape_.any() and self.excess_.any():
            driven = self._weather_rows(X)
            if driven.sum() >= self.min_group_size:
                self.weather_stats_ = RobustStats.fit(
                    self._scaled(X[driven])[:, feat], None, min_group_size=self.min_group_size
                )
        train = -self._anomaly(X)
        self.offset_ = float(np.percentile(train, 100.0 * self.contamination))
        return self

    def _check_params(self):
        name = type(self).__name__
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not 0.0 < c <= 0.5:
            raise ValueError(
                f"{name}: contamination must be a share in (0, 0.5], got {c!r}; "
                "e.g. 0.02 flags the 2 % most unusual training meters."
            )
        m = self.min_group_size
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
            raise ValueError(f"{name}: min_group_size must be an int >= 1, got {m!r}.")
        for attr in ("cap", "counter", "weather_ramp", "weather_margin"):
            v = getattr(self, attr)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
                raise ValueError(f"{name}: {attr} must be a number >= 0, got {v!r}.")
        if self.cap <= 0:
            raise ValueError(
                f"{name}: cap must be a positive number of robust standard deviations, "
                f"got {self.cap!r}."
            )
        if self.weather_ramp <= 0:
            raise ValueError(
                f"{name}: weather_ramp must be a positive number of robust standard "
                f"deviations, got {self.weather_ramp!r}; e.g. 2.0."
            )
        r = self.exonerate_range
        if (
            not isinstance(r, tuple | list)
            or len(r) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in r)
            or not 0 <= r[0] < r[1]
        ):
            raise ValueError(
                f"{name}: exonerate_range must be (lo, hi) with 0 <= lo < hi robust standard "
                f"deviations, got {r!r}; e.g. (1.0, 3.0)."
            )

    def _excluded_groups(self) -> np.ndarray:
        """``weather_exclude_groups`` checked, as an int array (empty: none)."""
        given = self.weather_exclude_groups
        owner = type(self).__name__
        if given is None:
            return np.zeros(0, dtype=np.int64)
        if isinstance(given, str) or not isinstance(given, list | tuple | np.ndarray):
            raise TypeError(
                f"{owner}: weather_exclude_groups must be None or a sequence of peer-group "
                f"codes, got {given!r}; wrap a single code in a list."
            )
        codes = np.asarray(given, dtype=object).ravel()
        bad = [
            g
            for g in codes
            if isinstance(g, bool | np.bool_) or not isinstance(g, numbers.Integral)
        ]
        if bad:
            raise ValueError(
                f"{owner}: weather_exclude_groups must hold integer peer-group codes (values of "
                f"group_column), got {bad[:3]!r}."
            )
        if len(codes) and self.group_index_ is None:
            raise ValueError(
                f"{owner}: weather_exclude_groups={list(given)!r} needs group_column (the "
                "column of peer-group codes); set group_column or drop weather_exclude_groups."
            )
        return np.unique(codes.astype(np.int64))

    def _weather_rows(self, X: np.ndarray) -> np.ndarray:
        """Rows of the weather-driven reference: explained fully by the weather
        (exoneration >= ``exonerate_range[1]``) and outside ``weather_exclude_groups``."""
        rows = self._exoneration(X) >= self.exonerate_range[1]
        excluded = getattr(self, "weather_exclude_groups_", None)
        if excluded is not None and len(excluded):
            rows &= ~np.isin(self._codes(X), excluded)
        return rows

    def _flags(self, given, default, names, what) -> np.ndarray:
        """Boolean per column: the given columns, or the named defaults when None."""
        p = self.n_features_in_
        out = np.zeros(p, dtype=bool)
        if given is None:
            if names is not None:
                out[[j for j, n in enumerate(names) if n in default]] = True
        else:
            if isinstance(given, str) or not isinstance(given, list | tuple | np.ndarray):
                raise TypeError(
                    f"{type(self).__name__}: {what} must be None or a sequence of columns, "
                    f"got {given!r}; wrap a single column in a list."
                )
            for key in given:
                out[_column_index(key, names, p, owner=type(self).__name__, what=what)] = True
        out &= self._feature_mask()
        return out

    def _exonerate(self, names) -> np.ndarray:
        code = {"high": 1, "low": -1, "both": 2}
        p = self.n_features_in_
        out = np.zeros(p, dtype=np.int64)
        given = self.exonerate
        if given is None:
            given = (
                {} if names is None else {n: d for n, d in DEFAULT_EXONERATE.items() if n in names}
            )
        if not isinstance(given, dict):
            raise TypeError(
                f"{type(self).__name__}: exonerate must be None or a dict "
                f"{{column: 'high' | 'low' | 'both'}}, got {given!r}."
            )
        for key, d in given.items():
            if d not in code:
                raise ValueError(
                    f"{type(self).__name__}: exonerate direction of {key!r} must be 'high', "
                    f"'low' or 'both', got {d!r}."
                )
            j = _column_index(key, names, p, owner=type(self).__name__, what="exonerate")
            out[j] = code[d]
        out[~self._feature_mask()] = 0
        return out

    def _gates(self, names) -> np.ndarray:
        """Gate column of each column (-1: none)."""
        p = self.n_features_in_
        out = np.full(p, -1, dtype=np.int64)
        given = self.gates
        if given is None:
            given = (
                {}
                if names is None
                else {a: b for a, b in DEFAULT_GATES.items() if a in names and b in names}
            )
        if not isinstance(given, dict):
            raise TypeError(
                f"{type(self).__name__}: gates must be None or a dict {{column: gate column}}, "
                f"got {given!r}."
            )
        owner = type(self).__name__
        for a, b in given.items():
            out[_column_index(a, names, p, owner=owner, what="gates")] = _column_index(
                b, names, p, owner=owner, what="gates"
            )
        return out

    def _feature_mask(self) -> np.ndarray:
        mask = np.ones(self.n_features_in_, dtype=bool)
        if self.group_index_ is not None:
            mask[self.group_index_] = False
        return mask

    def _codes(self, X: np.ndarray) -> np.ndarray | None:
        if self.group_index_ is None:
            return None
        col = X[:, self.group_index_]
        if not np.isfinite(col).all() or not np.equal(np.round(col), col).all():
            bad = col[~np.isfinite(col) | (np.round(col) != col)][:3]
            raise ValueError(
                f"{type(self).__name__}: group_column {self.group_column!r} must hold integer "
                f"peer-group codes, got {bad.tolist()}; encode groups with e.g. "
                "pd.factorize(registry['customer_class'])[0]."
            )
        return col.astype(np.int64)

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        if not self.log_.any():
            return X
        out = X.copy()
        with np.errstate(invalid="ignore"):
            out[:, self.log_] = np.log(np.maximum(X[:, self.log_], 1e-3))
        return out

    # -- scoring -------------------------------------------------------------------

    def _z(self, X: np.ndarray) -> np.ndarray:
        """Robust z-scores of every column (0 for the group column, NaN kept)."""
        feat = self._feature_mask()
        z = np.zeros(X.shape)
        z[:, feat] = self.stats_.z(self._scaled(X)[:, feat], self._codes(X))
        return z

    def _signed(self, z: np.ndarray) -> np.ndarray:
        e = np.clip(self.signs_ * z, -self.counter * self.cap, self.cap)
        e = np.where(np.isnan(e), 0.0, e) * self.weights_
        gated = np.flatnonzero(self.gates_ >= 0)
        if len(gated):
            e[:, gated] = np.minimum(e[:, gated], np.maximum(e[:, self.gates_[gated]], 0.0))
        return e

    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        e = self._signed(self._z(X))
        if not self.excess_.any():
            return e[:, self.used_].sum(axis=1)
        own, explained, weather, driven = self._paths(X, e)
        return own * explained + weather * driven

    def _paths(self, X: np.ndarray, e: np.ndarray):
        """The anomaly's two paths: ``own`` (cleared by ``explained``) and ``weather``
        (the comparison among weather-driven meters, phased in by ``driven``)."""
        excess = np.maximum(e[:, self.excess_], 0.0).sum(axis=1)
        shape = e[:, self.used_ & ~self.excess_].sum(axis=1)
        lo, hi = self.exonerate_range
        exon = self._exoneration(X)
        explained = np.clip((hi - exon) / (hi - lo), 0.0, 1.0)
        own = np.sqrt(excess * np.maximum(shape, 0.0))
        stats = getattr(self, "weather_stats_", None)
        if stats is None:
            zero = np.zeros(len(X))
            return own, explained, zero, zero
        # Cleared by the weather: still as unusual as it is among weather-driven loads.
        feat = self._feature_mask()
        zw = np.zeros(X.shape)
        zw[:, feat] = stats.z(self._scaled(X)[:, feat], None)
        sw = self._signed(zw)[:, self.weather_shape_].sum(axis=1) - self.weather_margin
        sw = np.maximum(sw, 0.0)
        driven = np.clip((exon - hi) / self.weather_ramp, 0.0, 1.0)
        return own, explained, np.minimum(np.sqrt(excess * sw), own), driven

    def _exoneration(self, X: np.ndarray) -> np.ndarray:
        """Robust standard deviations by which the exonerating features leave 0.

        Measured from 0 (a rig's weather response), in the pooled robust
        scale, not from the peer median: a flat rig among weather-driven farms
        departs from its peers *towards* mining.
        """
        u = self.exonerate_
        if not u.any():
            return np.zeros(len(X))
        feat = self._feature_mask()
        scale = np.ones(self.n_features_in_)
        scale[feat] = self.stats_.scale[-1]
        zz = self._scaled(X) / scale
        zz = np.where(np.isnan(zz), 0.0, zz)
        signed = np.where(u == 2, np.abs(zz), np.where(u == 0, 0.0, u * zz))
        # A gated exoneration counts only as far as its gate agrees in the same direction.
        g = self.gates_
        rows = np.flatnonzero((g >= 0) & (u != 0))
        if len(rows):
            gz = zz[:, g[rows]]
            gs = np.where(u[rows] == 2, np.abs(gz), u[rows] * gz)
            same = (u[rows] != 2) | (np.sign(gz) == np.sign(zz[:, rows]))
            signed[:, rows] = np.minimum(signed[:, rows], np.where(same, gs, 0.0))
        return (np.clip(signed, 0.0, self.cap) * self.weights_).sum(axis=1)

    def evidence(self, X) -> np.ndarray:
        """Weighted evidence of mining per feature, ``max(e_ij, 0)`` (0 for the group column).

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_meters, n_features_in_)

        Returns
        -------
        ndarray, shape (n_meters, n_features_in_)
            Non-negative: how strongly each feature points to mining (the
            reasons quote the largest).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return np.maximum(self._signed(self._z(X)), 0.0) * self.used_

    def signed_evidence(self, X) -> np.ndarray:
        """Signed evidence ``e_ij`` of the columns that feed the anomaly (gates applied).

        Positive: the feature points to mining; negative: to innocence (at most
        ``counter * cap``). The supervised detector learns from these
        peer-normalised values.

        Returns
        -------
        ndarray, shape (n_meters, n_used)
            Columns in the order of ``np.flatnonzero(used_)``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self._signed(self._z(X))[:, self.used_]

    def context_z(self, X) -> np.ndarray:
        """Robust z-scores (clipped at +-cap) of the features without a direction.

        Features such as temperature sensitivity or night-length correlation
        say *which* confounder a load resembles rather than how suspicious it
        is; the supervised detector learns from them with the labels.

        Returns
        -------
        ndarray, shape (n_meters, n_context)
            Columns in the order of ``np.flatnonzero(context_)``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        z = np.clip(self._z(X)[:, self.context_], -self.cap, self.cap)
        return np.where(np.isnan(z), 0.0, z)

    def null_anomaly(self, X, n_draws: int = 20_000, random_state=None) -> np.ndarray:
        """Anomalies of simulated ordinary meters that resemble the rows of ``X``.

        The null behind the flagged list (:mod:`detectors.flagging`). Each
        feature's robust z-score is, for an ordinary meter, about standard
        normal (the median and 1.4826 MAD make it so, whatever the share of
        rigs among the meters); the features are not independent (a vacant
        home is flat in several ways at once), so the draws keep the rank
        correlations of the rows' z-scores (a Gaussian copula; Spearman's rho
        turned into a Pearson correlation by ``2 sin(pi rho / 6)``). The
        anomaly of each draw is computed as for a meter, gates included; the
        weather's exoneration is left out, so the null is, if anything, wide.
        A meter the weather explains takes (by its weight of
        :meth:`weather_path`) the null of :meth:`null_weather_shape` instead.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_meters, n_features_in_)
            Meters whose correlations to keep (e.g. one peer group's).
        n_draws : int, default 20000
        random_state : int, RandomState or None

        Returns
        -------
        ndarray, shape (n_draws,)
            Anomalies of the simulated meters (minus their ``score_samples``).
        """
        from sklearn.utils import check_random_state

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        rng = check_random_state(random_state)
        gated = self.gates_[self.gates_ >= 0]
        cols = np.flatnonzero(self.used_ | np.isin(np.arange(self.n_features_in_), gated))
        Z = np.clip(np.nan_to_num(self._z(X)[:, cols]), -self.cap, self.cap)
        z = np.zeros((int(n_draws), self.n_features_in_))
        z[:, cols] = _copula_draws(Z, int(n_draws), rng)
        e = self._signed(z)
        if not self.excess_.any():
            return e[:, self.used_].sum(axis=1)
        excess = np.maximum(e[:, self.excess_], 0.0).sum(axis=1)
        shape = e[:, self.used_ & ~self.excess_].sum(axis=1)
        return np.sqrt(excess * np.maximum(shape, 0.0))

    def weather_path(self, X) -> tuple[np.ndarray, np.ndarray]:
        """How much of each meter's anomaly the weather path gives, and its evidence there.

        A meter the weather explains beyond ``exonerate_range[1]`` has the anomaly
        ``d min(sqrt(E S_w), own)`` (see the class notes): ``d`` its weight, ``E``
        its excess against its peers and ``S_w`` its shape evidence among the
        weather-driven meters beyond ``weather_margin``. Given its excess, the
        weather path asks only whether its shape is unusual among the
        weather-driven meters; the evidence that answers it is
        ``s = min(sqrt(E S_w), own)^2 / E`` (``S_w`` itself, or less where the
        meter's own anomaly caps the path), judged by :meth:`null_weather_shape`.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_meters, n_features_in_)

        Returns
        -------
        driven : ndarray, shape (n_meters,)
            ``d = clip((x - exonerate_range[1]) / weather_ramp, 0, 1)`` of the
            exoneration ``x`` [pooled robust standard deviations]: 0 for a load
            the weather does not explain fully (its anomaly is its own, judged by
            :meth:`null_anomaly`), 1 beyond the ramp.
        evidence : ndarray, shape (n_meters,)
            ``s`` [robust standard deviations, summed over ``weather_shape``],
            >= 0. Both all 0 without a weather comparison (``weather_stats_`` None).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        zero = np.zeros(len(X))
        if getattr(self, "weather_stats_", None) is None or not self.excess_.any():
            return zero, zero
        e = self._signed(self._z(X))
        _, _, weather, driven = self._paths(X, e)
        excess = np.maximum(e[:, self.excess_], 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            evidence = np.where(excess > 0, weather**2 / excess, 0.0)
        return driven, evidence

    def null_weather_shape(self, X, n_draws: int = 20_000, random_state=None):
        """Weather-path evidence ``S_w`` of simulated ordinary weather-driven meters.

        The null of :meth:`weather_path`'s evidence. The robust z-scores of the
        ``weather_shape`` columns (and their gates) against the weather-driven
        training meters (``weather_stats_``: those the weather explains fully)
        are, for an ordinary weather-driven meter, centred on 0 with heavier
        tails than one kind's (weather-driven loads are a mix of kinds): the
        draws are a multivariate t with :data:`WEATHER_NULL_DOF` degrees of
        freedom that keeps those meters' rank correlations (the copula of
        :meth:`null_anomaly`, over a shared chi-square scale) and go through
        the same evidence, gates, cap and ``weather_margin`` as a meter:
        ``S_w = max(sum_j e_j - margin, 0)``.
        The excess against the peers is not drawn: the p-value is conditional
        on the meter's own (a farm uses more than the median farm as a matter
        of course, and a rig added to it does not change that much).

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_meters, n_features_in_)
            The training meters (those the weather explains fully, outside
            ``weather_exclude_groups``, are used).
        n_draws : int, default 20000
        random_state : int, RandomState or None

        Returns
        -------
        ndarray, shape (n_draws,), or None
            ``S_w`` of the simulated meters [robust standard deviations]; None
            without a weather comparison (``weather_stats_`` None).
        """
        from sklearn.utils import check_random_state

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        if isinstance(n_draws, bool) or not isinstance(n_draws, numbers.Integral) or n_draws < 1:
            raise ValueError(
                f"{type(self).__name__}: n_draws must be a positive int, got {n_draws!r}; "
                "e.g. 20000 gives p-values down to 5e-5 from the draws."
            )
        stats = getattr(self, "weather_stats_", None)
        if stats is None or not self.excess_.any():
            return None
        rng = check_random_state(random_state)
        feat = self._feature_mask()
        driven = self._weather_rows(X)
        zw = np.zeros((int(driven.sum()), self.n_features_in_))
        zw[:, feat] = stats.z(self._scaled(X[driven])[:, feat], None)
        gates = self.gates_[self.weather_shape_]
        cols = np.flatnonzero(
            self.weather_shape_ | np.isin(np.arange(self.n_features_in_), gates[gates >= 0])
        )
        Z = np.clip(np.nan_to_num(zw[:, cols]), -self.cap, self.cap)
        n = int(n_draws)
        z = np.zeros((n, self.n_features_in_))
        # A multivariate t (a Gaussian over a shared chi-square scale): weather-driven
        # loads are a mix of kinds, whose z-scores have heavier tails than one kind's.
        dof = WEATHER_NULL_DOF
        z[:, cols] = _copula_draws(Z, n, rng) / np.sqrt(rng.chisquare(dof, n) / dof)[:, None]
        sw = self._signed(z)[:, self.weather_shape_].sum(axis=1) - self.weather_margin
        return np.maximum(sw, 0.0)

    def score_samples(self, X) -> np.ndarray:
        """Normality of each meter: minus the anomaly (higher = more normal)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return -self._anomaly(X)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples - offset_``: below 0 = flagged as possible mining."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """-1 for a meter flagged as possible mining, +1 otherwise."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def mining_score(self, X) -> np.ndarray:
        """Anomaly mapped to [0, 1): ``a / (a + a_flag)``, 0.5 at the flagging threshold.

        Monotone in the anomaly ``a = max(-score_samples, 0)`` and independent
        of the batch; not a probability (the supervised detector gives one).
        """
        a = np.maximum(-self.score_samples(X), 0.0)
        a_flag = max(-self.offset_, 1e-9)
        return a / (a + a_flag)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _copula_draws(Z: np.ndarray, n: int, rng) -> np.ndarray:
    """``n`` standard normal draws with the rank correlations of the columns of ``Z``.

    Spearman's rho turned into a Pearson correlation by ``2 sin(pi rho / 6)``,
    moved to the nearest positive semi-definite matrix; independent columns
    with fewer than 3 rows or 1 column.
    """
    from scipy.stats import spearmanr

    k = Z.shape[1]
    R = np.eye(k)
    if k > 1 and len(Z) > 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = spearmanr(Z).statistic
        if np.ndim(rho) == 0:  # two columns: spearmanr gives their one coefficient
            rho = np.array([[1.0, rho], [rho, 1.0]])
        R = np.nan_to_num(2.0 * np.sin(np.pi * rho / 6.0))
        np.fill_diagonal(R, 1.0)
        w, V = np.linalg.eigh(R)  # nearest positive semi-definite matrix
        R = (V * np.clip(w, 1e-9, None)) @ V.T
    return rng.multivariate_normal(np.zeros(k), R, size=n)


def _names(names):
    return None if names is None else [str(n) for n in names]


def _weights(weights, names, p: int, *, owner: str) -> np.ndarray:
    """Weight per column from None, a dict ``{column: weight}`` or a sequence."""
    w = np.ones(p, dtype=np.float64)
    if weights is None:
        return w
    if isinstance(weights, dict):
        items = weights.items()
    elif isinstance(weights, list | tuple | np.ndarray) and len(weights) == p:
        items = enumerate(weights)
    else:
        raise ValueError(
            f"{owner}: weights must be None, a dict {{column: weight}} or one weight per "
            f"column ({p}), got {weights!r}."
        )
    for key, value in items:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
            raise ValueError(f"{owner}: weight of column {key!r} must be >= 0, got {value!r}.")
        w[_column_index(key, _names(names), p, owner=owner, what="weights")] = float(value)
    return w
