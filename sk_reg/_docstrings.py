"""Parameter text shared by the classifier and the regressor.

Docstrings use ``%(name)s`` placeholders filled by :func:`_fill_doc`, as
imbalanced-learn's ``Substitution`` does.
"""

_PARAMS = {
    "hidden_layer_sizes": """hidden_layer_sizes : array-like of shape (n_layers,), \
default=(100,)
        Width of each hidden layer of the default MLP module (ignored when
        ``module`` is given). ``()`` gives a linear model.""",
    "activation": """activation : {"relu", "tanh", "logistic", "identity", "gelu"}, \
default="relu"
        Activation after each hidden layer of the default MLP module.""",
    "l1": """l1 : float, default=0.0
        L1 strength on the weights (never the biases). Applied as a proximal
        (soft-thresholding) step after every optimizer step, which yields exact
        zeros: ``w <- sign(w) * max(|w| - t * l1, 0)`` where ``t`` is the step
        size the optimizer used for that weight (``learning_rate_init`` for SGD;
        ``learning_rate_init / (sqrt(v_hat) + eps)`` for Adam/AdamW, i.e.
        proximal Adam). It minimises ``mean loss + l1 * sum |W|`` (the
        convention of :class:`~sklearn.linear_model.Lasso`'s ``alpha``: *not*
        divided by the batch size). Input columns whose first-layer weights are
        all zero get ``feature_importances_ == 0``. Read more in the
        :ref:`User Guide <l1>`.""",
    "feature_l1": """feature_l1 : float, default=0.0
        Group-L1 (group lasso) strength on the input columns: adds
        ``feature_l1 * sum_j ||W1[:, j]||_2`` to the objective, where
        ``W1[:, j]`` holds every first-layer weight reading input column ``j``.
        Applied as a proximal step after every optimizer step that shrinks each
        column as a whole, ``W1[:, j] <- W1[:, j] * max(1 - t_j * feature_l1 /
        ||W1[:, j]||, 0)``, with ``t_j`` the optimizer's step for that column
        (``learning_rate_init`` for SGD; for Adam/AdamW
        ``learning_rate_init / (sqrt(v_hat) + eps)`` with ``v_hat`` the mean
        second moment of the column; see
        :func:`sk_reg.penalties.prox_group_l1_`). Whole columns become exactly
        zero, so the network stops reading those inputs: their
        ``feature_importances_`` are 0 and
        ``SelectFromModel(estimator, threshold=1e-12)`` drops them. This is
        feature selection; ``l1`` only sparsifies individual weights. Needs a
        ``torch.nn.Linear`` layer reading all input columns before any
        convolution (the MLP module; not ``"cnn"``). Composes with ``l1`` and
        ``l2``. :func:`sk_reg.regularization_path` trains along increasing
        values of it. Read more in the :ref:`User Guide <feature_selection>`.""",
    "l2": """l2 : float, default=1e-4
        L2 strength on the weights (never the biases), scaled like
        :class:`~sklearn.neural_network.MLPClassifier`'s ``alpha``:
        ``0.5 * l2 * sum ||W||^2 / sum(batch sample weights)`` is added to the
        batch's mean loss, whatever the optimizer, so a grid tuned for
        ``alpha`` transfers. Read more in the :ref:`User Guide <l2>`.""",
    "dropout": """dropout : float, default=0.0
        Probability of zeroing each hidden unit after every hidden activation
        during training (inverted dropout: kept units are scaled by
        ``1 / (1 - dropout)``). Off in ``predict``. Must be in ``[0, 1)``.
        Read more in the :ref:`User Guide <dropout>`.""",
    "augment": """augment : None, str, augmentation object or list, default=None
        Data augmentation applied to each training batch on the training
        device, never to validation batches or at predict time:

        - ``None``: no augmentation;
        - ``"noise"`` (:class:`~sk_reg.augment.GaussianNoise`) or ``"mixup"``
          (:class:`~sk_reg.augment.Mixup`), for tables;
        - for images (needs ``input_shape``): ``"flip"``, ``"rotate"``,
          ``"scale"``, ``"shift"``, ``"affine"``, ``"cutout"``, ``"cutmix"``
          (:class:`~sk_reg.augment.RandomFlip`,
          :class:`~sk_reg.augment.RandomRotation`, ...); an image augmentation
          on tabular data is a ``ValueError`` in ``fit``;
        - several names joined by ``"+"``, for example ``"flip+rotate"``;
        - an object from :mod:`sk_reg.augment` (its parameters are tunable as
          ``augment__<param>``), or a list of names and objects, applied in
          order.

        With ``input_shape`` set, augmentations receive image batches
        ``(batch, C, H, W)``. Read more in the :ref:`User Guide <augment>`.""",
    "early_stopping": """early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data%(stratified)s,
        score every epoch on it (see ``scoring``), stop once more than
        ``n_iter_no_change`` consecutive epochs have not beaten the best score
        by at least ``tol``, and restore the weights of the best epoch (the
        best by any margin), as MLP%(kind)s does. When False, training stops
        once more than ``n_iter_no_change`` consecutive epochs have not
        lowered the best training objective (loss plus penalties) by at least
        ``tol`` (not under a cosine ``learning_rate``, whose decay over
        ``max_iter`` epochs is the length of training). Read more in the
        :ref:`User Guide <early-stopping>`.""",
    "scoring": """scoring : None, "loss", str or callable, default=None
        What early stopping monitors on the held-out data (higher is better):

        - ``None``: the estimator's :meth:`score` (%(score_name)s), as MLP%(kind)s;
        - ``"loss"``: the negative validation loss (weighted like the training
          loss, without penalties);
        - a scorer name such as ``"neg_log_loss"`` or a callable
          ``scorer(estimator, X, y)`` (see :func:`sklearn.metrics.get_scorer`).

        ``validation_scores_`` records it every epoch, and
        ``best_validation_score_ == max(validation_scores_)``. The validation
        loss is always kept in ``net_.history`` (``"valid_loss"``).""",
    "validation_fraction": """validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping=True``.""",
    "n_iter_no_change": """n_iter_no_change : int or np.inf, default=10
        Training stops when more than this many consecutive epochs fail to
        improve by ``tol`` (see ``early_stopping``); ``np.inf`` never stops
        before ``max_iter``.""",
    "tol": """tol : float, default=1e-4
        Minimum absolute improvement of the monitored quantity for an epoch to
        count as an improvement; with ``optimizer="lbfgs"``, the tolerance on
        the largest gradient entry (scipy's ``gtol``, as MLP%(kind)s).""",
    "max_iter": """max_iter : int, default=200
        Maximum number of epochs (passes over the training data), or of
        iterations with ``optimizer="lbfgs"``. Reaching it gives a
        ``ConvergenceWarning``, except under a cosine ``learning_rate``, which
        ends there by design.""",
    "max_fun": """max_fun : int, default=15000
        With ``optimizer="lbfgs"`` only: the most loss evaluations (each on all
        the rows), as MLP%(kind)s's ``max_fun``; reaching it gives a
        ``ConvergenceWarning``.""",
    "batch_size": """batch_size : int or "auto", default="auto"
        Rows per minibatch; ``"auto"`` is ``min(200, n_samples)`` (MLP%(kind)s's
        rule), or ``min(64, n_samples)`` for a convolutional network
        (``module="cnn"`` or a :class:`~sk_reg.modules.ConvNet` builder): on
        1,000 Fashion-MNIST images, batches of 200 with the cosine decay
        scored about a point lower than batches of 64.""",
    "shuffle": """shuffle : bool, default=True
        Whether to shuffle the rows before every epoch (drawn from
        ``random_state``); False visits them in their order every epoch.""",
    "learning_rate_init": """learning_rate_init : float, default=1e-3
        Learning rate of the optimizer.""",
    "learning_rate": """learning_rate : {"auto", "constant", "cosine", "invscaling", \
"adaptive"}, default="auto"
        Learning-rate schedule over the ``max_iter`` epochs of a ``fit`` call,
        for every optimizer (MLP%(kind)s uses ``"invscaling"`` and
        ``"adaptive"`` with ``solver="sgd"`` only):

        - ``"constant"``: ``learning_rate_init`` throughout (MLP%(kind)s's
          default).
        - ``"invscaling"`` (MLP%(kind)s's): each epoch trains at
          ``learning_rate_init / (t + 1) ** power_t``, ``t`` being the number
          of training rows seen before it (``t_``), so a warm-started ``fit``
          and ``partial_fit`` carry on the decay.
        - ``"adaptive"`` (MLP%(kind)s's): ``learning_rate_init`` until the
          stopping rule fires (``n_iter_no_change`` epochs without
          improvement by ``tol``), then divided by 5 instead of stopping, each
          time, until it is at most 1e-6. ``partial_fit`` keeps the rate.
        - ``"cosine"``: epoch ``k`` (from 0) trains at
          ``learning_rate_init * (1 + cos(pi * k / max_iter)) / 2``, decaying
          towards zero at ``max_iter`` (early stopping or the plateau rule may
          end training sooner). A warm-started ``fit`` starts a new decay;
          ``partial_fit`` trains at ``learning_rate_init``.
        - ``"auto"``: ``"cosine"`` for a convolutional network
          (``module="cnn"`` or a :class:`~sk_reg.modules.ConvNet` builder),
          ``"constant"`` otherwise, and also when ``callbacks`` hold a skorch
          ``LRScheduler`` (which then sets the rate).

        The rate of each epoch is in ``net_.history[:, "lr"]``. On
        Fashion-MNIST images the decay is what lets augmentation pay off:
        flips and shifts gained about a point with it and lost two at a
        constant rate (:doc:`regularization study </regularization_study>`,
        "Images").""",
    "power_t": """power_t : float, default=0.5
        The exponent of the ``"invscaling"`` schedule (MLP%(kind)s's); unused
        by the other schedules.""",
    "optimizer": """optimizer : {"adam", "sgd", "adamw", "lbfgs"} or torch optimizer \
class, default="adam"
        The optimizer. ``"sgd"`` uses Nesterov momentum 0.9 (as MLP%(kind)s;
        ``optimizer_kwargs={"momentum": 0}`` gives plain SGD);
        ``"adamw"`` is :class:`torch.optim.AdamW` with its own decoupled
        weight decay (0.01 unless set in ``optimizer_kwargs``), in addition to
        ``l2``. ``l1`` and ``l2`` mean the same with every optimizer that
        takes them. ``"lbfgs"`` is MLP%(kind)s's ``solver="lbfgs"``: scipy's
        L-BFGS-B on all the rows at once (``max_iter`` iterations, ``max_fun``
        loss evaluations, ``tol`` on the gradient; ``batch_size``, ``shuffle``
        and the learning rate do not apply), with ``l2``, label smoothing,
        class and sample weights; it cannot take ``l1``, ``feature_l1``,
        ``dropout``, ``augment``, ``early_stopping`` (MLP%(kind)s ignores it
        there; sk_reg says so) or ``partial_fit``, each an error that names
        the conflict. For small tables it can converge faster than the
        stochastic optimizers.""",
    "optimizer_kwargs": """optimizer_kwargs : dict, default=None
        Extra keyword arguments for the optimizer (for example
        ``{"betas": (0.9, 0.99)}`` or ``{"momentum": 0.5}``).""",
    "warm_start": """warm_start : bool, default=False
        When True, ``fit`` continues from the current weights (and optimizer
        state) instead of re-initialising, provided the data has the same
        number of features%(and_classes)s. Hyperparameters are re-read.""",
    "device": """device : str, default="cpu"
        Torch device for training and prediction: ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, or ``"auto"`` (CUDA when available, else CPU). Asking for
        CUDA on a machine without it raises a ``ValueError`` in ``fit``.""",
    "dtype": """dtype : {"float32", "float64"} or None, default=None
        Compute precision. ``None`` follows the input as MLP%(kind)s does:
        float32 input trains in float32, anything else in float64. float32 is
        about twice as fast and halves memory; float64 makes results
        reproducible to ~1e-12 across row orderings and sample-weight
        representations.""",
    "module": """module : None, "cnn", module builder or torch.nn.Module subclass, \
default=None
        The network, which maps ``(batch, n_features)`` to
        ``(batch, n_outputs)``:

        - ``None``: :class:`sk_reg.modules.MLP` built from
          ``hidden_layer_sizes`` and ``activation``;
        - ``"cnn"``: :class:`sk_reg.modules.ConvNet` with its defaults (needs
          ``input_shape``);
        - a builder, an object with a
          ``build(n_features, n_outputs, dropout=..., input_shape=...)``
          method such as ``MLP(...)`` or ``ConvNet(...)``; its parameters are
          tunable as ``module__<param>``;
        - a ``torch.nn.Module`` subclass, called with ``n_features``,
          ``n_outputs`` and, if its constructor accepts them, ``dropout`` and
          ``input_shape`` (a module without a ``dropout`` argument trains
          without dropout: the estimator adds no layer to it).

        ``l1``, ``l2``, ``label_smoothing``, ``augment`` and
        ``early_stopping`` apply to any module; image modules reshape the rows
        themselves. Read more in :ref:`Getting started <images>`.""",
    "input_shape": """input_shape : tuple of int or None, default=None
        Image shape ``(channels, height, width)`` of each row of ``X``: rows
        of ``C * H * W`` features are viewed as images by the module and the
        augmentations, while ``X`` stays 2-D for scikit-learn (pipelines keep
        passing flat arrays). One entry may be ``-1``, inferred from the
        number of features as in :func:`numpy.reshape`. ``X`` of shape
        ``(n_samples, C, H, W)`` is accepted too and flattened (its shape is
        used when ``input_shape`` is None); ``n_features_in_`` is then
        ``C * H * W``. The product of the shape must equal the number of
        features.""",
    "callbacks": """callbacks : list of skorch callbacks, default=None
        Extra :mod:`skorch.callbacks` (or ``(name, callback)`` tuples) added to
        the net, for example a learning-rate scheduler. Callbacks act per
        epoch; one that overrides a per-batch hook (``on_batch_begin``,
        ``on_batch_end``, ``on_grad_computed``) is called for every batch, and
        then each batch's ``train_loss`` and ``train_batch_size`` (or
        ``valid_...``) are recorded in ``net_.history[-1, "batches"]``, at the
        cost of a step through skorch's slower per-batch path.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, dropout, augmentation and the
        validation split. With an int, two fits on CPU give identical weights.
        Fitting never changes the global numpy or torch random state.""",
    "verbose": """verbose : int, default=0
        0 prints nothing; 1 prints one plain line per epoch (training loss,
        validation loss and score when early stopping, duration); 2 also shows
        a progress bar within each epoch.""",
}

_ATTRS = """n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``; defined only when ``X`` has
        string feature names (a pandas DataFrame).

    net_ : skorch.NeuralNet
        The fitted skorch net: ``net_.module_`` is the torch module,
        ``net_.history`` the per-epoch history.

    n_iter_ : int
        Number of epochs run (cumulated over ``partial_fit`` and warm starts).

    loss_curve_ : list of float
        Mean training loss (without penalties) of every epoch.

    validation_scores_ : list of float or None
        Validation score (see ``scoring``) of every epoch when
        ``early_stopping=True``, else None.

    best_validation_score_ : float or None
        Best validation score, that of the epoch whose weights were restored,
        when ``early_stopping=True``, else None.

    loss_ : float
        Training objective (loss plus penalties) of the last epoch.

    best_loss_ : float or None
        Lowest training objective of any epoch when ``early_stopping=False``
        (the quantity the stopping rule watches), else None.

    t_ : int
        Number of training rows seen by the optimizer (rows times epochs).

    n_outputs_ : int
        Number of network outputs (%(n_outputs)s).

    n_layers_ : int or None
        Number of layers of the built-in MLP, input and output included
        (``len(hidden_layer_sizes) + 2``); None for other modules.

    out_activation_ : str
        Output function: %(out_activations)s.

    coefs_ : list of ndarray
        Weight matrices of the built-in MLP, ``coefs_[i]`` of shape
        ``(n_units_in, n_units_out)`` as in MLP%(kind)s; a copy of the live
        weights. Custom modules raise ``AttributeError``.

    intercepts_ : list of ndarray
        Bias vectors of the built-in MLP, one per layer after the input.

    feature_importances_ : ndarray of shape (`n_features_in_`,)
        Mean absolute first-layer weight of each input column, normalised to
        sum to one (all zeros if every weight is zero). A column with all-zero
        weights (see ``l1``) has importance exactly 0. Only defined when the
        module has a ``torch.nn.Linear`` layer reading all the input columns."""

_OBJECTIVE = """For each minibatch ``B`` with sample weights ``s_i`` (1 by default) the
    optimizer minimises

    .. math::

        \\frac{\\sum_{i \\in B} s_i\\, \\ell_i}{\\sum_{i \\in B} s_i}
        + \\frac{l2}{2 \\sum_{i \\in B} s_i} \\sum_W \\|W\\|_F^2

    where :math:`\\ell_i` is the %(loss)s, :math:`W` ranges over the weight
    matrices and kernels (biases excluded). After each optimizer step the
    proximal operator of :math:`l1 \\sum_W \\|W\\|_1` is applied (see ``l1``), then
    that of :math:`feature\\_l1 \\sum_j \\|W_1[:, j]\\|_2` on the first layer's
    input columns (see ``feature_l1``)."""


_FAULTS = """A call to ``fit`` or ``partial_fit`` that raises (bad data, a bad
    hyperparameter, an exception in a callback, or divergence or an interrupt
    before the first epoch of the call completed) leaves the estimator exactly
    as it was: a fitted model keeps its weights, optimizer state and
    attributes, an unfitted one stays unfitted. When the loss or the weights
    become non-finite (divergence, for example a far too large
    ``learning_rate_init``), training stops with a ``ConvergenceWarning`` and
    keeps the weights of the last finite epoch (with ``early_stopping``, those
    of the best epoch); in the first epoch of the call this is a
    ``ValueError`` instead. A ``KeyboardInterrupt`` in the middle of an epoch
    keeps the model of the last completed epoch, with a warning, and ``fit``
    can be called again; before any epoch of the call completed it
    propagates. Values beyond float32's range are refused for a float32
    model, and sparse ``X`` for an image model (``input_shape`` or a
    convolutional module).

    Pickle and joblib work (skorch maps a net trained on CUDA to the CPU when
    it is unpickled where CUDA is unavailable); :func:`sk_reg.save` and
    :func:`sk_reg.load` persist a model without pickle, so that loading a
    file cannot run code."""


#: The parameters both ``fit`` methods share (their docstrings' placeholders).
_FIT_PARAMS = {
    "fit_X": """X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (numpy array, pandas DataFrame or scipy sparse
            matrix, kept sparse), or images of
            shape (n_samples, C, H, W) (see ``input_shape``).""",
    "fit_sample_weight": """sample_weight : array-like of shape (n_samples,), \
default=None
            Non-negative weight of each sample in the loss.""",
    "fit_X_val": """X_val : {array-like, sparse matrix} of shape (n_val, \
n_features), default=None
            Rows early stopping watches instead of holding out
            ``validation_fraction`` of ``X`` (then all of ``X`` trains). Needs
            ``early_stopping=True`` and ``y_val``; checked and encoded like
            ``X``. In a :class:`~sklearn.pipeline.Pipeline`, pass
            ``transform_input=["X_val"]`` to preprocess it like ``X``.""",
    "fit_sample_weight_val": """sample_weight_val : array-like of shape (n_val,), \
default=None
            Weights of the ``X_val`` rows in the validation score.""",
}


def _fill_doc(**extra):
    """Fill ``%(name)s`` placeholders of a class docstring and of its ``fit``'s."""

    def decorate(obj):
        values = {**extra}
        values.update({k: v % extra for k, v in _PARAMS.items()})
        values["attrs"] = _ATTRS % extra
        values["objective"] = _OBJECTIVE % extra
        values["faults"] = _FAULTS
        obj.__doc__ = obj.__doc__ % values
        obj.fit.__doc__ = obj.fit.__doc__ % _FIT_PARAMS
        return obj

    return decorate
