"""Displays: pictures of what training and regularization did.

Each display follows scikit-learn's ``Display`` objects
(:class:`~sklearn.model_selection.LearningCurveDisplay`,
:class:`~sklearn.metrics.PrecisionRecallDisplay`): the constructor holds the
data to draw, ``from_estimator`` (or ``from_path``) computes it from a fitted
model, and :meth:`plot` draws it on a matplotlib ``Axes`` and keeps the
artists as attributes (``figure_``, ``ax_``, ``lines_``). matplotlib is
needed only to plot, and imported then.

- :class:`TrainingHistoryDisplay`: per-epoch training loss (and objective),
  validation loss and score, and the epoch early stopping restored;
- :class:`RegularizationPathDisplay`: selected input columns and hold-out
  score along :func:`~sk_reg.regularization_path`;
- :class:`SearchDisplay`: each candidate's hold-out score per rung of a
  :class:`~sk_reg.RegularizedNetClassifierCV` /
  :class:`~sk_reg.RegularizedNetRegressorCV` search.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["RegularizationPathDisplay", "SearchDisplay", "TrainingHistoryDisplay"]


def _pyplot():
    """matplotlib's pyplot, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sk_reg.inspection draws with matplotlib, which is not installed: "
            "pip install matplotlib (or the sk_reg[plot] extra)."
        ) from exc
    return plt


def _axes(ax):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _final_step(estimator):
    """``estimator``, or the last step of a fitted Pipeline."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _networks(estimator):
    """``[(name, network)]`` of the fitted sk_reg networks behind ``estimator``."""
    from ._base import _BaseRegularizedNet
    from .cv import _NetCV

    model = _final_step(estimator)
    if isinstance(model, _NetCV):
        check_is_fitted(model)
        return [(f"estimators_[{k}]", net) for k, net in enumerate(model.estimators_)]
    if isinstance(model, _BaseRegularizedNet):
        check_is_fitted(model)
        return [(type(model).__name__, model)]
    raise TypeError(
        "TrainingHistoryDisplay needs a fitted sk_reg estimator (a network, a CV "
        f"search or a Pipeline ending in one); got {type(model).__name__}."
    )


def _history(network):
    """The curves of one fitted network, as arrays (None where absent)."""
    rows = list(network.net_.history)
    if not rows:
        raise ValueError(
            f"{type(network).__name__} has no training history to draw (no epoch "
            "was recorded)."
        )

    def column(key):
        values = [row.get(key) for row in rows]
        if all(v is None for v in values):
            return None
        return np.array([np.nan if v is None else float(v) for v in values])

    curves = {
        key: column(key)
        for key in ("train_loss", "train_objective", "valid_loss", "valid_score")
    }
    curves["epoch"] = np.array([row["epoch"] for row in rows])
    best = None
    if curves["valid_score"] is not None:
        scores = curves["valid_score"]
        # The epoch early stopping restores: the best score, ties to the later.
        best = int(curves["epoch"][np.flatnonzero(scores == np.nanmax(scores))[-1]])
    curves["best_epoch"] = best
    return curves


class TrainingHistoryDisplay:
    """Training curves of fitted networks, per epoch.

    For each network: the training loss, the training objective (loss plus
    penalties) when the penalties make it differ, and with a hold-out
    (``early_stopping=True``) the validation loss, the validation score (the
    ``scoring`` early stopping monitors, on a second y axis, unless it is the
    negative validation loss) and the epoch whose weights were restored.

    Parameters
    ----------
    histories : list of dict
        One per network: arrays ``epoch``, ``train_loss`` and
        ``train_objective``, ``valid_loss`` and ``valid_score`` (None without
        a hold-out), and ``best_epoch`` (the restored epoch, or None).

    names : list of str
        A label per network.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure.

    ax_ : matplotlib.axes.Axes
        The losses' axes.

    ax_score_ : matplotlib.axes.Axes or None
        The second y axis of the validation scores, when there are any.

    lines_ : dict of str to matplotlib.lines.Line2D
        Every line drawn, keyed ``"<name>: <curve>"`` (curves
        ``training loss``, ``training objective``, ``validation loss``,
        ``validation score``).

    best_lines_ : dict of str to matplotlib.lines.Line2D
        The vertical line at each network's restored epoch.

    See Also
    --------
    RegularizationPathDisplay : The path of ``feature_l1``.
    SearchDisplay : The candidates of a CV search.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sk_reg import RegularizedNetClassifier
    >>> from sk_reg.inspection import TrainingHistoryDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = RegularizedNetClassifier(early_stopping=True, scoring="loss", l2=0.0,
    ...                                max_iter=30, random_state=0).fit(X, y)
    >>> display = TrainingHistoryDisplay.from_estimator(clf)
    >>> for name in sorted(display.lines_):
    ...     print(name)
    RegularizedNetClassifier: training loss
    RegularizedNetClassifier: validation loss
    >>> best = display.histories[0]["best_epoch"]  # the restored epoch
    >>> clf.validation_scores_[best - 1] == clf.best_validation_score_
    True
    """

    def __init__(self, histories, *, names):
        self.histories = histories
        self.names = names

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Draw the curves of a fitted estimator.

        Parameters
        ----------
        estimator : estimator
            A fitted :class:`~sk_reg.RegularizedNetClassifier` or
            :class:`~sk_reg.RegularizedNetRegressor`, a fitted CV search (its
            refitted ``estimators_``, one set of curves each), or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one of these.

        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : TrainingHistoryDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import load_iris
        >>> from sk_reg import RegularizedNetClassifier
        >>> from sk_reg.inspection import TrainingHistoryDisplay
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = RegularizedNetClassifier(l2=1.0, max_iter=20).fit(X, y)
        >>> TrainingHistoryDisplay.from_estimator(clf).ax_.get_xlabel()
        'epoch'
        """
        networks = _networks(estimator)
        display = cls(
            [_history(net) for _, net in networks],
            names=[name for name, _ in networks],
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : TrainingHistoryDisplay
            ``self``, with its artists set.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sk_reg.inspection import TrainingHistoryDisplay
        >>> curves = {"epoch": np.arange(1, 4), "train_loss": np.array([3.0, 2, 1]),
        ...           "train_objective": None, "valid_loss": None,
        ...           "valid_score": None, "best_epoch": None}
        >>> display = TrainingHistoryDisplay([curves], names=["net"]).plot()
        >>> list(display.lines_)
        ['net: training loss']
        """
        ax = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        self.lines_, self.best_lines_, self.ax_score_ = {}, {}, None
        for k, (name, curves) in enumerate(
            zip(self.names, self.histories, strict=True)
        ):
            self._draw(ax, f"C{k % 10}", name, curves)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        handles = list(self.lines_.values()) + list(self.best_lines_.values())
        ax.legend(handles=handles, fontsize="small")
        return self

    def _draw(self, ax, color, name, curves):
        epochs = curves["epoch"]
        self._line(ax, name, "training loss", epochs, curves["train_loss"], color)
        objective = curves["train_objective"]
        if objective is not None and not np.allclose(objective, curves["train_loss"]):
            self._line(ax, name, "training objective", epochs, objective, color, ":")
        if curves["valid_loss"] is not None:
            self._line(
                ax, name, "validation loss", epochs, curves["valid_loss"], color, "--"
            )
        score = curves["valid_score"]
        if score is not None and not np.allclose(score, -curves["valid_loss"]):
            if self.ax_score_ is None:
                self.ax_score_ = ax.twinx()
                self.ax_score_.set_ylabel("validation score")
            self._line(
                self.ax_score_, name, "validation score", epochs, score, color, "-."
            )
        if curves["best_epoch"] is not None:
            self.best_lines_[name] = ax.axvline(
                curves["best_epoch"],
                color=color,
                alpha=0.5,
                label=f"{name}: restored epoch {curves['best_epoch']}",
            )

    def _line(self, ax, name, curve, x, y, color, style="-"):
        label = f"{name}: {curve}"
        (self.lines_[label],) = ax.plot(x, y, style, color=color, label=label)


class RegularizationPathDisplay:
    """Selected input columns and hold-out score along the ``feature_l1`` path.

    The number of live input columns (left axis, a step line) and the
    hold-out score (right axis) against ``feature_l1`` (log axis), with the
    chosen point marked; optionally, below, each column's first-layer norm
    (the network's analogue of a lasso path).

    Parameters
    ----------
    path : sklearn.utils.Bunch
        The output of :func:`~sk_reg.regularization_path`.

    chosen : int or None, default=None
        Index of the point to mark; None marks the best hold-out score (the
        sparser point among ties).

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure.

    ax_ : matplotlib.axes.Axes
        The axes of the selected columns.

    ax_score_ : matplotlib.axes.Axes
        The second y axis, of the hold-out score.

    ax_norms_ : matplotlib.axes.Axes or None
        The axes of the column norms, when drawn.

    lines_ : dict of str to matplotlib.lines.Line2D
        ``"features selected"`` and ``"validation score"``, plus
        ``"column <j>"`` for each column norm drawn.

    chosen_ : int
        The marked point.

    See Also
    --------
    sk_reg.regularization_path : Computes the path.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_reg import RegularizedNetClassifier
    >>> from sk_reg.inspection import RegularizationPathDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 6)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = RegularizedNetClassifier((8,), max_iter=30, random_state=0)
    >>> display = RegularizationPathDisplay.from_estimator(
    ...     clf, X, y, values=[1e-3, 0.1, 10.0], random_state=0)
    >>> display.ax_.get_xscale(), sorted(display.lines_)
    ('log', ['features selected', 'validation score'])
    """

    def __init__(self, path, *, chosen=None):
        self.path = path
        self.chosen = chosen

    @classmethod
    def from_path(cls, path, *, chosen=None, show_norms=False, ax=None):
        """Draw a path computed by :func:`~sk_reg.regularization_path`.

        Parameters
        ----------
        path : sklearn.utils.Bunch
            The path.

        chosen : int or None, default=None
            Point to mark (see the class).

        show_norms : bool, default=False
            Also draw each column's norm in a second axes below (needs
            ``ax=None``: a new figure with two rows).

        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : RegularizationPathDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sklearn.utils import Bunch
        >>> from sk_reg.inspection import RegularizationPathDisplay
        >>> path = Bunch(feature_l1=np.array([0.01, 0.1, 1.0]),
        ...              n_features_selected=np.array([5, 2, 0]),
        ...              validation_score=np.array([0.8, 0.9, 0.5]),
        ...              feature_norms=np.ones((3, 5)))
        >>> RegularizationPathDisplay.from_path(path).chosen_
        1
        """
        return cls(path, chosen=chosen).plot(ax=ax, show_norms=show_norms)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, show_norms=False, ax=None, **path_params
    ):
        """Compute the path of ``estimator`` on ``X, y``, then draw it.

        Parameters
        ----------
        estimator : RegularizedNetClassifier or RegularizedNetRegressor
            The model, unfitted (see :func:`~sk_reg.regularization_path`).

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        show_norms : bool, default=False
            Also draw each column's norm (see :meth:`from_path`).

        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.

        **path_params : dict
            Passed to :func:`~sk_reg.regularization_path` (``values``,
            ``n_values``, ``random_state``, ...).

        Returns
        -------
        display : RegularizationPathDisplay
            The display, drawn; the path is its ``path``.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sk_reg import RegularizedNetClassifier
        >>> from sk_reg.inspection import RegularizationPathDisplay
        >>> rng = np.random.RandomState(0)
        >>> X, y = rng.randn(100, 4), rng.randint(0, 2, 100)
        >>> clf = RegularizedNetClassifier((4,), max_iter=5, random_state=0)
        >>> display = RegularizationPathDisplay.from_estimator(
        ...     clf, X, y, values=[0.01, 1.0], show_norms=True)
        >>> sorted(name for name in display.lines_ if name.startswith("column"))
        ['column 0', 'column 1', 'column 2', 'column 3']
        """
        from .path import regularization_path

        path = regularization_path(estimator, X, y, **path_params)
        return cls.from_path(path, show_norms=show_norms, ax=ax)

    def plot(self, ax=None, *, show_norms=False):
        """Draw the path.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.

        show_norms : bool, default=False
            Also draw each column's norm below (needs ``ax=None``).

        Returns
        -------
        display : RegularizationPathDisplay
            ``self``, with its artists set.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sklearn.utils import Bunch
        >>> from sk_reg.inspection import RegularizationPathDisplay
        >>> path = Bunch(feature_l1=np.array([0.01, 1.0]),
        ...              n_features_selected=np.array([3, 0]),
        ...              validation_score=np.array([0.9, 0.5]))
        >>> RegularizationPathDisplay(path, chosen=0).plot().chosen_
        0
        """
        path = self.path
        missing = {"feature_l1", "n_features_selected", "validation_score"} - set(path)
        if missing:
            raise ValueError(
                f"The path lacks {sorted(missing)}: pass the output of "
                "sk_reg.regularization_path."
            )
        if show_norms and "feature_norms" not in path:
            raise ValueError("show_norms=True needs the path's feature_norms.")
        if show_norms and ax is not None:
            raise ValueError("show_norms=True draws its own two axes: leave ax=None.")
        values = np.asarray(path.feature_l1, dtype=float)
        score = np.asarray(path.validation_score, dtype=float)
        self.chosen_ = self._chosen(score)
        if show_norms:
            _, (ax, self.ax_norms_) = _pyplot().subplots(
                2, 1, sharex=True, figsize=(6.4, 6.4)
            )
        else:
            ax, self.ax_norms_ = _axes(ax), None
        self.ax_, self.figure_ = ax, ax.figure
        self._draw_main(ax, values, score)
        if show_norms:
            self._draw_norms(values)
        return self

    def _chosen(self, score):
        if self.chosen is not None:
            return int(self.chosen)
        # The best score; among ties the sparser (later) point.
        return int(np.flatnonzero(score == np.nanmax(score))[-1])

    def _draw_main(self, ax, values, score):
        (features,) = ax.step(
            values,
            self.path.n_features_selected,
            where="post",
            color="C0",
            label="features selected",
        )
        if values.min() > 0:
            ax.set_xscale("log")
        elif (values > 0).any():  # a path through 0: linear below the first value
            ax.set_xscale("symlog", linthresh=values[values > 0].min())
        ax.set_xlabel("feature_l1")
        ax.set_ylabel("features selected")
        self.ax_score_ = ax.twinx()
        (valid,) = self.ax_score_.plot(
            values, score, "o-", color="C1", ms=3, label="validation score"
        )
        self.ax_score_.set_ylabel("validation score")
        self.lines_ = {"features selected": features, "validation score": valid}
        x = values[self.chosen_]
        self.chosen_line_ = ax.axvline(
            x,
            color="grey",
            linestyle="--",
            label=f"chosen: {int(self.path.n_features_selected[self.chosen_])} "
            f"features, score {score[self.chosen_]:.3g}",
        )
        ax.legend(handles=[features, valid, self.chosen_line_], fontsize="small")

    def _draw_norms(self, values):
        norms = np.asarray(self.path.feature_norms, dtype=float)
        for j in range(norms.shape[1]):
            (self.lines_[f"column {j}"],) = self.ax_norms_.plot(
                values, norms[:, j], lw=1
            )
        self.ax_norms_.axvline(values[self.chosen_], color="grey", linestyle="--")
        self.ax_norms_.set_xlabel("feature_l1")
        self.ax_norms_.set_ylabel("first-layer column norm")


class SearchDisplay:
    """The candidates of a CV search: hold-out score after each rung.

    Each candidate is a line through its rungs (epochs trained so far on the
    x axis, its hold-out score on the y axis): successive halving shows as
    lines that stop where a candidate was cut. The candidates refitted into
    ``estimators_`` (the best of the last rung) are drawn thick and labelled
    with their parameters.

    Parameters
    ----------
    cv_results : dict of arrays
        The search's ``cv_results_``.

    refitted : list of int
        The candidate indices of ``estimators_``, best first.

    scoring : str, default="hold-out score"
        The y axis label.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure.

    ax_ : matplotlib.axes.Axes
        The axes.

    lines_ : dict of int to matplotlib.lines.Line2D
        One line per candidate index.

    See Also
    --------
    TrainingHistoryDisplay : The refitted networks' training curves.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sk_reg import RegularizedNetClassifierCV
    >>> from sk_reg.inspection import SearchDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RegularizedNetClassifierCV(budget=150, min_iter=10, max_iter=30,
    ...                                     random_state=0).fit(X, y)
    >>> display = SearchDisplay.from_estimator(search)
    >>> len(display.lines_), display.refitted == display.refitted[:4]
    (9, True)
    """

    def __init__(self, cv_results, *, refitted, scoring="hold-out score"):
        self.cv_results = cv_results
        self.refitted = refitted
        self.scoring = scoring

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Draw the search of a fitted CV estimator.

        Parameters
        ----------
        estimator : RegularizedNetClassifierCV or RegularizedNetRegressorCV
            A fitted search, or a fitted Pipeline ending in one.

        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : SearchDisplay
            The display, drawn.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import load_iris
        >>> from sk_reg import RegularizedNetClassifierCV
        >>> from sk_reg.inspection import SearchDisplay
        >>> X, y = load_iris(return_X_y=True)
        >>> search = RegularizedNetClassifierCV([{}, {"l2": 1.0}], min_iter=5,
        ...                                     max_iter=10, random_state=0)
        >>> SearchDisplay.from_estimator(search.fit(X, y)).ax_.get_xlabel()
        'epochs trained'
        """
        from .cv import _NetCV

        search = _final_step(estimator)
        if not isinstance(search, _NetCV):
            raise TypeError(
                "SearchDisplay needs a fitted RegularizedNetClassifierCV or "
                f"RegularizedNetRegressorCV; got {type(search).__name__}."
            )
        check_is_fitted(search)
        results = search.cv_results_
        last = results["iter"] == results["iter"].max()
        order = np.flatnonzero(last)[np.argsort(results["rank_test_score"][last])]
        refitted = [
            int(results["candidate"][i]) for i in order[: len(search.estimators_)]
        ]
        scoring = search._scoring(search.best_estimator_)
        label = scoring if isinstance(scoring, str) else "score"
        display = cls(results, refitted=refitted, scoring=f"hold-out {label}")
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the candidates.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : SearchDisplay
            ``self``, with its artists set.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sk_reg.inspection import SearchDisplay
        >>> results = {"candidate": np.array([0, 1, 0]), "iter": np.array([0, 0, 1]),
        ...            "n_iter": np.array([5, 5, 10]),
        ...            "test_score": np.array([0.5, 0.4, 0.7]),
        ...            "params": [{}, {"l2": 1.0}, {}]}
        >>> len(SearchDisplay(results, refitted=[0]).plot().lines_)
        2
        """
        ax = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        self.lines_ = {}
        results = self.cv_results
        candidates = np.asarray(results["candidate"])
        for c in np.unique(candidates):
            rows = np.flatnonzero(candidates == c)
            x = np.asarray(results["n_iter"])[rows]
            y = np.asarray(results["test_score"])[rows]
            winner = int(c) in self.refitted
            label = f"{int(c)}: {results['params'][rows[0]]}" if winner else None
            (self.lines_[int(c)],) = ax.plot(
                x,
                y,
                "o-",
                lw=2.5 if winner else 1,
                ms=5 if winner else 3,
                color=None if winner else "grey",
                alpha=1 if winner else 0.6,
                label=label,
                zorder=3 if winner else 2,
            )
        ax.set_xlabel("epochs trained")
        ax.set_ylabel(self.scoring)
        ax.legend(
            title="refitted (candidate: params)",
            fontsize="small",
            title_fontsize="small",
        )
        return self
