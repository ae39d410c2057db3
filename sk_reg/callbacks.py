"""Callbacks that skorch lacks."""

from __future__ import annotations

import sys

from skorch.callbacks import Callback

__all__ = ["EpochLogger"]


class EpochLogger(Callback):
    """Print one plain line per epoch (no colour codes, no table).

    The line holds the epoch number, the training loss, the validation loss
    and score when a validation set is held out, and the epoch's duration.
    The estimators add it when ``verbose >= 1``.

    Parameters
    ----------
    sink : callable, default=None
        Called with each line; ``None`` prints to standard output.

    Examples
    --------
    >>> from sk_reg.callbacks import EpochLogger
    >>> lines = []
    >>> logger = EpochLogger(sink=lines.append)
    >>> logger.format_row({"epoch": 3, "train_loss": 0.25, "dur": 0.5})
    'epoch 3  train_loss 0.25000  0.500s'
    """

    def __init__(self, sink=None):
        self.sink = sink

    @staticmethod
    def format_row(row):
        """Return the log line for one history row (a dict).

        Parameters
        ----------
        row : dict
            One epoch's history entry.

        Returns
        -------
        line : str
            The formatted line.

        Examples
        --------
        >>> from sk_reg.callbacks import EpochLogger
        >>> EpochLogger.format_row({"epoch": 1, "train_loss": 1.0, "valid_score": 0.5})
        'epoch 1  train_loss 1.00000  valid_score 0.50000'
        """
        parts = [f"epoch {row['epoch']}"]
        for key in ("train_loss", "valid_loss", "valid_score"):
            if key in row:
                parts.append(f"{key} {row[key]:.5f}")
        if "dur" in row:
            parts.append(f"{row['dur']:.3f}s")
        return "  ".join(parts)

    def on_epoch_end(self, net, **kwargs):
        """Emit the line for the epoch that just ended.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained; its last history row is printed.

        **kwargs : dict
            Unused skorch callback arguments.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> from sk_reg.callbacks import EpochLogger
        >>> net = SimpleNamespace(history=[{"epoch": 1, "train_loss": 0.5}])
        >>> EpochLogger().on_epoch_end(net)
        epoch 1  train_loss 0.50000
        """
        line = self.format_row(net.history[-1])
        if self.sink is None:
            print(line, file=sys.stdout, flush=True)
        else:
            self.sink(line)
