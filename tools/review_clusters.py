"""Grouping members' unanswered questions into clusters of similar questions.

scikit-learn (installed with Rasa): TF-IDF over character 2-4-grams (robust to
members' typos: "acupunture", "chiro") and words, cosine distances, and
average-linkage agglomerative clustering cut at a distance threshold, so the
number of clusters follows the data. The most frequent MAX_CLUSTERED
distinct questions are clustered (the distance matrix grows with its
square); rarer ones join the nearest cluster when close enough, else are
counted as unclustered.

`measure()` scores the grouping against the hand-labelled sample in
tools/review_sample.yml (adjusted Rand index and V-measure); the report
states the held-out figures.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
import yaml
from scipy.sparse import hstack
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, v_measure_score
from sklearn.preprocessing import normalize

SAMPLE = Path(__file__).with_name("review_sample.yml")
# Chosen on the sample's `tune` half (character n-grams 2-4, 3-4, 3-5 or none;
# word weight 1 or 2; average, complete or single linkage; thresholds 0.5 to
# 0.95 in steps of 0.05): the best adjusted Rand index there.
CHAR_NGRAMS = (2, 4)
DISTANCE_THRESHOLD = 0.85
MAX_CLUSTERED = 2000
EXAMPLES_PER_CLUSTER = 5
LABEL_TERMS = 3
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(text: str) -> str:
    """The form two questions share when they differ only in case, spaces or end punctuation."""
    return _EDGE_PUNCTUATION.sub("", _SPACES.sub(" ", text.lower())).strip()


@dataclass
class Cluster:
    """Similar questions: their total count, a label from shared words, examples, kinds."""

    label: str
    count: int
    examples: List[Tuple[str, int]]
    kinds: Dict[str, int] = field(default_factory=dict)
    questions: List[str] = field(default_factory=list)


def _vectors(texts: Sequence[str]) -> Tuple["np.ndarray", TfidfVectorizer, int]:
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True)
    words = TfidfVectorizer(analyzer="word", token_pattern=r"(?u)\b\w\w+\b", stop_words="english")
    char_matrix = chars.fit_transform(texts)
    try:
        word_matrix = words.fit_transform(texts)
    except ValueError:  # only stop words: no vocabulary
        return normalize(char_matrix), words, 0
    return normalize(hstack([char_matrix, word_matrix]).tocsr()), words, char_matrix.shape[1]


def cluster_labels(texts: Sequence[str], threshold: float = DISTANCE_THRESHOLD) -> List[int]:
    """A cluster number for each text (texts should be distinct and normalised)."""
    if len(texts) < 2:
        return [0] * len(texts)
    matrix, _, _ = _vectors(texts)
    distances = np.clip(1.0 - (matrix @ matrix.T).toarray(), 0.0, 2.0)
    model = AgglomerativeClustering(
        n_clusters=None, affinity="precomputed", linkage="average", distance_threshold=threshold
    )
    return [int(label) for label in model.fit_predict(distances)]


def cluster_questions(
    questions: Mapping[str, Tuple[int, str, Mapping[str, int]]],
    threshold: float = DISTANCE_THRESHOLD,
    max_clustered: int = MAX_CLUSTERED,
) -> Tuple[List[Cluster], int]:
    """Clusters of the questions, largest first, and how many rare questions stayed unclustered.

    `questions` maps a normalised question to (count, an example as stored,
    counts by kind: fallback, out_of_scope, ...).
    """
    ranked = sorted(questions.items(), key=lambda item: (-item[1][0], item[0]))
    if not ranked:
        return [], 0
    head, tail = ranked[:max_clustered], ranked[max_clustered:]
    texts = [text for text, _ in head]
    labels = cluster_labels(texts, threshold)
    members: Dict[int, List[Tuple[str, Tuple[int, str, Mapping[str, int]]]]] = {}
    for label, item in zip(labels, head, strict=True):
        members.setdefault(label, []).append(item)
    unclustered = 0
    if tail and len(texts) >= 2:
        matrix, _, _ = _vectors(texts + [text for text, _ in tail])
        head_matrix, tail_matrix = matrix[: len(texts)], matrix[len(texts) :]
        similarity = (tail_matrix @ head_matrix.T).toarray()
        for row, item in enumerate(tail):
            best = int(similarity[row].argmax())
            if 1.0 - similarity[row, best] <= threshold:
                members[labels[best]].append(item)
            else:
                unclustered += item[1][0]
    else:
        unclustered = sum(item[1][0] for item in tail)
    clusters = [_cluster(items) for items in members.values()]
    clusters.sort(key=lambda cluster: (-cluster.count, cluster.label))
    return clusters, unclustered


def _cluster(items: List[Tuple[str, Tuple[int, str, Mapping[str, int]]]]) -> Cluster:
    items = sorted(items, key=lambda item: (-item[1][0], item[0]))
    kinds: Dict[str, int] = {}
    for _, (_, _, by_kind) in items:
        for kind, count in by_kind.items():
            kinds[kind] = kinds.get(kind, 0) + count
    words: Dict[str, int] = {}
    for text, (count, _, _) in items:
        for word in set(re.findall(r"[a-z]{3,}", text)) - _STOP_WORDS:
            words[word] = words.get(word, 0) + count
    label_words = sorted(words, key=lambda word: (-words[word], word))[:LABEL_TERMS]
    return Cluster(
        label=", ".join(label_words) or items[0][0][:40],
        count=sum(count for _, (count, _, _) in items),
        examples=[(example, count) for _, (count, example, _) in items[:EXAMPLES_PER_CLUSTER]],
        kinds=kinds,
        questions=[example for _, (_, example, _) in items],
    )


_STOP_WORDS = {
    "the", "and", "for", "does", "can", "what", "whats", "how", "will", "are", "this", "that", "with",
    "you", "your", "have", "get", "is", "my", "plan", "covered", "cover", "coverage", "about", "there",
}  # fmt: skip


# ---- measuring the grouping ---------------------------------------------------


def load_sample(part: str, path: Path = SAMPLE) -> Tuple[List[str], List[str]]:
    """(questions, labels) of one part ("tune" or "held_out") of the labelled sample."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))[part]
    texts, labels = [], []
    for label, questions in groups.items():
        for question in questions:
            texts.append(normalise(question))
            labels.append(label)
    return texts, labels


def measure(part: str = "held_out", threshold: float = DISTANCE_THRESHOLD) -> Dict[str, float]:
    """How well the clustering matches the hand labels on one part of the sample."""
    texts, truth = load_sample(part)
    found = cluster_labels(texts, threshold)
    return {
        "adjusted_rand": round(float(adjusted_rand_score(truth, found)), 3),
        "v_measure": round(float(v_measure_score(truth, found)), 3),
        "questions": float(len(texts)),
        "groups": float(len(set(truth))),
        "clusters": float(len(set(found))),
    }
