"""Intent text: word tokens, detokenization and the token-F1 similarity. Torch-free (loaders use it too).

Tokens are words and single punctuation marks ("7:30" -> "7", ":", "30"), so an unseen time or name combination
is spelled with tokens the decoder has seen. Comparison is on lower-cased token lists, so "Text Ana hi" and
"text ana hi" are the same intent.
"""

from __future__ import annotations

import re
from collections import Counter

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens; [] for text with nothing to say."""
    return _TOKEN.findall(text.lower())


def detokenize(tokens: list[str]) -> str:
    """Tokens back to readable text: no spaces around ':' (times), none before other punctuation."""
    text = " ".join(tokens)
    text = re.sub(r" ?: ?", ":", text)
    return re.sub(r" ([,.!?;])", r"\1", text)


def token_f1(pred: list[str], ref: list[str]) -> float:
    """Bag-of-tokens F1 in [0, 1] (SQuAD's answer F1): 1 for the same words, partial credit for overlap."""
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)
