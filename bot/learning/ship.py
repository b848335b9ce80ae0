"""Rebuild the model shipped inside the package: `python -m bot.learning.ship`.

It is trained exactly as `commsbot train` trains on a data directory with no corrections:
on the shipped development corpora only. tests/learning checks that the file in the
package equals what this produces, so run it (and commit the file) after changing the
corpora, the features or the training.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from bot.learning.model import shipped_model_path
from bot.learning.train import TRAINING_CORPORA, shipped_examples, train, write_model


def main() -> int:
    """Train on the shipped development corpora and write the packaged model file."""
    examples = shipped_examples()
    model = train(
        examples,
        now=datetime.now(UTC).replace(microsecond=0),
        sources={"shipped_corpus": len(examples), "desk_labels": 0},
    )
    path = write_model(model, shipped_model_path())
    path.chmod(0o644)
    print(
        f"trained on {len(examples)} posts from {', '.join(TRAINING_CORPORA)} "
        f"(temperature {model.info.temperature}); wrote {path}",
        file=sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
