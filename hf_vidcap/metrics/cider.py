"""CIDEr-D (Vedantam et al., 2015), exactly as pycocoevalcap's ``Cider`` computes it, vectorised.

The one implementation used by the CIDEr-D reward, the trainer's evaluation and the ``cider_d`` evaluate
module. Captions are split on whitespace (tokenise beforehand, as pycocoevalcap's PTB tokenizer does).

For each n = 1..4, a caption is a TF-IDF vector over its n-grams, ``tf * (log(N) - log(max(1, df)))`` with N
the number of videos in the document-frequency corpus. The score of a candidate c against references R is

    10 / |R| * sum_{r in R} mean_n [ sum_g min(c_g, r_g) * r_g / (|c| |r|) * exp(-(l_c - l_r)^2 / (2 sigma^2)) ]

with sigma = 6 and, as in the reference code, the "length" l counted as the number of bigrams (a norm of zero
leaves the dot product undivided, as pycocoevalcap does).

Two ways to get document frequencies:
  * corpus mode (``CiderD()``): from the references passed to `compute_score`, one entry per video, exactly
    as pycocoevalcap does;
  * fixed mode (``CiderD.from_corpus(train_references)``): counted once over the training references and
    reused for every batch, as self-critical.pytorch does for SCST rewards.

How it is fast: identical sentences are processed once; words get integer ids (ASCII text is split on its bytes,
see `_ascii_tokens`) and every n-gram is packed into one int64 (``sum_j w_j * B**j`` with word ids >= 1, so the
orders land in disjoint ranges); every occurrence becomes one entry of a sparse (sentences x n-grams) matrix whose
duplicate merge adds up the repeats within a sentence (the term counts); the TF-IDF vectors form that one matrix,
document frequencies are a sparse product, and the clipped dot products of all (candidate, reference) pairs are
element-wise sparse operations. The packing bounds one call to ``B - 1`` distinct words (55,107 for n = 4); only
the words of fixed document frequencies and of cached references keep their ids between calls.

In fixed mode a reference's vector never changes: each reference list's vectors are kept (``reference_cache_entries``)
and a call computes only its candidates' vectors, joined with their video's reference entries on (video, n-gram).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

NGram = tuple[str, ...]


def ngram_counts(sentence: str, n: int = 4) -> Counter:
    """Counts of every k-gram, k = 1..n, of a whitespace-split sentence."""
    words = sentence.split()
    counts: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i : i + k])] += 1
    return counts


def document_frequencies(references: Iterable[Sequence[str]], n: int = 4) -> Counter:
    """For each n-gram, the number of videos whose references contain it at least once."""
    frequencies: Counter = Counter()
    for refs in references:
        frequencies.update({gram for ref in refs for gram in ngram_counts(ref, n)})
    return frequencies


def _packing_base(n: int) -> int:
    # The largest B with B**n <= 2**63 - 1, so a packed n-gram fits in an int64.
    base = int((2**63 - 1) ** (1.0 / n))
    while base**n > 2**63 - 1:
        base -= 1
    while (base + 1) ** n <= 2**63 - 1:
        base += 1
    return base


# The characters str.split() splits on that are ASCII (the fast path below handles ASCII text only).
_ASCII_WHITESPACE = np.zeros(256, dtype=bool)
_ASCII_WHITESPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


def _index(items: Iterable, count: int) -> tuple[np.ndarray, list]:
    """The index of each item among the distinct items (numbered in order of first appearance), and those items.
    A dict rather than ``pd.factorize``: pandas before 3.0 hashes strings as C strings, so two that differ only
    after a NUL character would be merged."""
    index: dict = {}
    ids = np.fromiter((index.setdefault(item, len(index)) for item in items), dtype=np.int64, count=count)
    return ids, list(index)


def _split_tokens(sentences: Sequence[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``str.split`` of every sentence: the word code of each token (all sentences concatenated), the word of
    each code and the number of tokens of each sentence."""
    per_sentence = [sentence.split() for sentence in sentences]
    lengths = np.fromiter(map(len, per_sentence), dtype=np.int64, count=len(per_sentence))
    codes, words = _index(itertools.chain.from_iterable(per_sentence), int(lengths.sum()))
    return codes, words, lengths


def _ascii_tokens(text: str, sentences: Sequence[str]) -> tuple[np.ndarray, list[str], np.ndarray] | None:
    """`_split_tokens` of ``text`` (the sentences joined by single spaces) where it is ASCII without control
    characters, on its bytes: a word of up to 8 bytes is identified by the int64 of its bytes, zero-padded
    (exact, as no such word has a zero byte), longer words by their strings. About twice as fast as splitting
    into Python strings; `None` for other text."""
    if not text.isascii():
        return None
    raw = text.encode("ascii")
    data = np.frombuffer(raw + b" " * 8, dtype=np.uint8)  # 8 bytes of padding: see `chunk`
    space = data <= 32
    if data.min() < 32 and not _ASCII_WHITESPACE[data[data < 32]].all():
        return None  # a control character that str.split keeps in a word (NUL included)
    # Words start where a space run ends and end where one starts (the text is padded with spaces).
    edges = np.flatnonzero(space[1:] != space[:-1]) + 1
    if space[0]:
        starts, ends = edges[0::2], edges[1::2]
    else:
        starts, ends = np.concatenate([[0], edges[1::2]]), edges[0::2]
    sentence_bounds = np.zeros(len(sentences) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences)) + 1, out=sentence_bounds[1:])
    lengths = np.diff(np.searchsorted(starts, sentence_bounds))
    # The 8 bytes from each word's start as one little-endian int64 (an unaligned strided view), the bytes
    # past the word's end masked off.
    size = ends - starts
    chunk = np.ndarray(shape=(len(data) - 8,), dtype="<i8", buffer=data, strides=(1,))[starts]
    chunk &= np.where(size < 8, (np.int64(1) << (8 * np.minimum(size, 7))) - 1, np.int64(-1))
    fits = size <= 8
    short_at = np.arange(len(starts)) if fits.all() else np.flatnonzero(fits)
    short_codes, packed = pd.factorize(chunk[short_at])
    first = np.zeros(len(packed), dtype=np.int64)
    first[short_codes] = short_at  # an occurrence of each packed word (any one: the same bytes)
    words = [raw[a:b].decode("ascii") for a, b in zip(starts[first].tolist(), ends[first].tolist())]
    if len(short_at) == len(starts):
        return short_codes, words, lengths
    codes = np.empty(len(starts), dtype=np.int64)
    codes[short_at] = short_codes
    long_at = np.flatnonzero(~fits)
    long_words = [raw[a:b].decode("ascii") for a, b in zip(starts[long_at].tolist(), ends[long_at].tolist())]
    long_codes, distinct = _index(long_words, len(long_words))
    codes[long_at] = long_codes + len(words)
    words.extend(distinct)
    return codes, words, lengths


@dataclass
class _Grams:
    """The distinct n-grams of S sentences: one entry per (sentence, n-gram), sentence-major."""

    sentence: np.ndarray  # (E,) int64, index of the sentence
    key: np.ndarray  # (E,) int64, packed n-gram
    tf: np.ndarray  # (E,) float64, count of the n-gram in the sentence
    length: np.ndarray  # (S,) float64, number of bigrams of each sentence (pycocoevalcap's "length")


@dataclass
class _ReferenceVectors:
    """The TF-IDF vectors of one video's references under fixed document frequencies (one entry per
    (reference, distinct n-gram))."""

    key: np.ndarray  # (E,) int64, packed n-gram
    reference: np.ndarray  # (E,) int32, position of the reference in the video's list
    weight: np.ndarray  # (E,) float64, tf * idf
    norms: np.ndarray  # (R, n) float64, norm of each reference's vector per order
    length: np.ndarray  # (R,) float64, number of bigrams of each reference


class CiderD:
    """CIDEr-D scorer.

    Args:
        n (`int`, *optional*, defaults to `4`): largest n-gram order.
        sigma (`float`, *optional*, defaults to `6.0`): standard deviation of the Gaussian length penalty.
        document_frequency (`Counter`, *optional*): fixed document frequencies (n-gram tuple -> number of videos
            whose references contain it); `None` = corpus mode.
        num_documents (`int`, *optional*): number of videos behind ``document_frequency`` (required with it).
        reference_cache_entries (`int`, *optional*, defaults to `2**22`): with fixed document frequencies a
            reference's TF-IDF vector never changes, so the vectors of each reference list seen are kept for
            later calls (the K samples and the later epochs of a video reuse them), up to this many n-gram
            entries in all (about 20 bytes each; the oldest lists are dropped first). `0` recomputes them on
            every call: use it for one large call (a whole split scored with fixed frequencies), where caching
            is wasted work and, once the call's references outgrow the budget, about 2x slower. Unused in
            corpus mode.
    """

    def __init__(
        self,
        n: int = 4,
        sigma: float = 6.0,
        document_frequency: Counter | None = None,
        num_documents: int | None = None,
        reference_cache_entries: int = 2**22,
    ):
        if n < 1:
            raise ValueError(f"n ({n}) must be >= 1.")
        if not (sigma > 0 and math.isfinite(sigma)):
            raise ValueError(f"sigma ({sigma}) must be a positive number.")
        if (document_frequency is None) != (num_documents is None):
            raise ValueError("document_frequency and num_documents must be given together (or neither).")
        if num_documents is not None and num_documents < 1:
            raise ValueError(f"num_documents ({num_documents}) must be >= 1.")
        if reference_cache_entries < 0:
            raise ValueError(f"reference_cache_entries ({reference_cache_entries}) must be >= 0 (0 turns the cache off).")
        self.n = n
        self.sigma = sigma
        self.num_documents = num_documents
        self._base = _packing_base(n)
        # Word ids: the words of the fixed document frequencies keep theirs for the scorer's life; any other word
        # gets one for a single compute_score call only, so that memory stays bounded over a long run of calls
        # with ever new words (a sampling captioner, a sub-word tokenizer) and the packing limit applies per call.
        self._vocab: dict[str, int] = {}
        self._call_vocab: dict[str, int] = {}
        self._df_index: pd.Index | None = None
        self._df_values: np.ndarray | None = None
        # Fixed mode: reference list -> its vectors. The words of cached references keep their ids (past the
        # document-frequency words, whose count is _df_vocab_size) while the cache holds them.
        self.reference_cache_entries = reference_cache_entries
        self._reference_cache: OrderedDict[tuple[str, ...], _ReferenceVectors] = OrderedDict()
        self._reference_cache_size = 0
        self._df_vocab_size = 0
        if document_frequency is not None:
            grams = list(document_frequency)
            if any(len(g) > n or len(g) == 0 for g in grams):
                raise ValueError(f"document_frequency holds n-grams that are empty or longer than n ({n}).")
            self._df_index = pd.Index(self._pack_tuples(grams))
            self._df_values = np.asarray([document_frequency[g] for g in grams], dtype=np.float64)
            self._keep_call_words()
            self._df_vocab_size = len(self._vocab)

    @classmethod
    def from_corpus(cls, references: Iterable[Sequence[str]], n: int = 4, sigma: float = 6.0, **kwargs) -> CiderD:
        """Fixed document frequencies counted once over ``references`` (one list of captions per video)."""
        references = [list(refs) for refs in references]
        if not references:
            raise ValueError("references is empty: document frequencies need at least one video's captions.")
        for i, refs in enumerate(references):
            if not refs or any(not isinstance(r, str) for r in refs):
                raise ValueError(f"video {i} of references has no captions or a non-string one; pass lists of strings.")
        scorer = cls(n=n, sigma=sigma, **kwargs)
        scorer.num_documents = len(references)
        flat = [r for refs in references for r in refs]
        sentence_ids, sentences = _index(flat, len(flat))
        video = np.repeat(np.arange(len(references)), [len(refs) for refs in references])
        counts, keys, _ = scorer._count_matrix(sentences)
        df = scorer._document_frequency(counts, video, sentence_ids, np.ones(len(references)))
        present = df > 0  # the unigram columns cover the whole vocabulary, the null key 0 included
        scorer._df_index, scorer._df_values = pd.Index(keys[present]), df[present]
        scorer._keep_call_words()
        scorer._df_vocab_size = len(scorer._vocab)
        return scorer

    def _keep_call_words(self) -> None:
        """Make the words seen since the last call permanent (they define the fixed document frequencies)."""
        self._vocab.update(self._call_vocab)  # their ids already follow the permanent ones
        self._call_vocab = {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        # The reference cache is rebuilt where the scorer is unpickled, and with it the ids of its words.
        state["_reference_cache"], state["_reference_cache_size"] = OrderedDict(), 0
        state["_vocab"] = dict(itertools.islice(self._vocab.items(), self._df_vocab_size))
        return state

    def clear_reference_cache(self) -> None:
        """Forget the cached reference vectors (and the ids of the words only they used)."""
        self._reference_cache, self._reference_cache_size = OrderedDict(), 0
        if len(self._vocab) > self._df_vocab_size:
            self._vocab = dict(itertools.islice(self._vocab.items(), self._df_vocab_size))

    @property
    def document_frequency(self) -> Counter | None:
        """The fixed document frequencies as a Counter of n-gram tuples (`None` in corpus mode)."""
        if self._df_index is None:
            return None
        words = np.array([""] + sorted(self._vocab, key=self._vocab.get), dtype=object)
        counter: Counter = Counter()
        for key, value in zip(self._df_index.to_numpy(), self._df_values):
            ids = []
            while key:
                key, word = divmod(int(key), self._base)
                ids.append(word)
            counter[tuple(words[ids])] = int(value)
        return counter

    # ----------------------------------------------------------------------------------------- n-grams

    def _word_ids(self, sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Word ids (>= 1) of all sentences, concatenated, and the number of words of each sentence."""
        try:
            text = " ".join(sentences)
        except TypeError:
            bad = next(i for i, sentence in enumerate(sentences) if not isinstance(sentence, str))
            raise TypeError(f"captions must be strings, got {type(sentences[bad]).__name__}: {sentences[bad]!r}.") from None
        tokens = _ascii_tokens(text, sentences)
        codes, words, lengths = tokens if tokens is not None else _split_tokens(sentences)
        vocab, call_vocab = self._vocab, self._call_vocab
        for word in words:
            if word not in vocab and word not in call_vocab:
                # 0 is never a word, so orders pack into disjoint ranges.
                call_vocab[word] = len(vocab) + len(call_vocab) + 1
        if len(vocab) + len(call_vocab) >= self._base:
            raise ValueError(
                f"CIDEr-D packs each {self.n}-gram into 64 bits, which allows {self._base - 1} distinct words in one "
                f"call (document-frequency words included); this call has {len(vocab) + len(call_vocab)}. Score the "
                "corpus in smaller parts or use a smaller n."
            )
        lookup = np.fromiter((vocab.get(w) or call_vocab[w] for w in words), dtype=np.int64, count=len(words))
        return lookup[codes], lengths

    def _pack_tuples(self, grams: Sequence[NGram]) -> np.ndarray:
        keys = np.zeros(len(grams), dtype=np.int64)
        self._word_ids([" ".join(g) for g in grams])  # registers the words
        for i, gram in enumerate(grams):
            key, scale = 0, 1
            for word in gram:
                key += (self._vocab.get(word) or self._call_vocab[word]) * scale
                scale *= self._base
            keys[i] = key
        return keys

    def _occurrences(self, sentences: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Every n-gram occurrence (repeats within a sentence included), order by order: for each k = 1..n the
        packed keys of the k-grams in token order; the (tokens x n) mask of the tokens that start a k-gram
        (those with k - 1 more tokens in their sentence); the number of words of each sentence."""
        ids, lengths = self._word_ids(sentences)
        num_tokens = len(ids)
        sentence_of_token = np.repeat(np.arange(len(sentences)), lengths)
        starts = np.cumsum(lengths) - lengths
        remaining = lengths[sentence_of_token] - (np.arange(num_tokens) - starts[sentence_of_token])  # tokens left
        inside = remaining[:, None] > np.arange(self.n)[None, :]
        keys = []
        key = np.zeros(num_tokens, dtype=np.int64)
        scale = 1
        for k in range(self.n):
            if k < num_tokens:
                key[: num_tokens - k] += ids[k:] * scale  # key[p] packs tokens p .. p + k
            keys.append(key[inside[:, k]])
            scale *= self._base
        return keys, inside, lengths

    def _grams(self, sentences: Sequence[str]) -> _Grams:
        """The distinct n-grams of each sentence with their counts."""
        counts, keys, lengths = self._count_matrix(sentences)
        return _Grams(
            sentence=np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr)),
            key=keys[counts.indices],
            tf=counts.data,
            length=lengths,
        )

    # ------------------------------------------------------------------------------------------ weights

    def _count_matrix(self, sentences: Sequence[str]) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Term counts as a (sentences x n-grams) CSR matrix with sorted indices, the packed key of each column
        and the length (bigram count) of each sentence."""
        keys, inside, num_words = self._occurrences(sentences)
        # Unigram keys are word ids, already dense: only longer n-grams need hashing.
        words = np.arange(len(self._vocab) + len(self._call_vocab) + 1, dtype=np.int64)
        longer_codes, distinct = self._factorize_by_order(keys[1:], first_code=len(words))
        codes = np.empty((self.n, len(inside)), dtype=np.int64)  # (order, token)
        codes[0] = keys[0]
        for k, order_codes in enumerate(longer_codes, start=1):
            codes[k][inside[:, k]] = order_codes
        keys = np.concatenate([words, *distinct])
        # Token-major entries are grouped by sentence: a CSR matrix as they are; the duplicate merge then sorts
        # each row's n-grams and adds up the repeats (the term counts).
        indptr = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum(sum(np.maximum(num_words - k, 0) for k in range(self.n)), out=indptr[1:])
        entries = codes.T[inside]
        counts = sp.csr_matrix((np.ones(len(entries)), entries, indptr), shape=(len(sentences), max(len(keys), 1)))
        counts.sum_duplicates()
        lengths = np.maximum(num_words - 1, 0).astype(np.float64)
        return counts, np.asarray(keys, dtype=np.int64), lengths

    def _document_frequency(
        self, counts: sp.csr_matrix, video_of_ref: np.ndarray, sentence_of_ref: np.ndarray, video_weights: np.ndarray
    ) -> np.ndarray:
        """For each column of ``counts``, the number of videos whose references contain it, video v counted
        ``video_weights[v]`` times."""
        incidence = sp.csr_matrix(
            (np.ones(len(video_of_ref)), (video_of_ref, sentence_of_ref)), shape=(len(video_weights), counts.shape[0])
        )
        pattern = sp.csr_matrix((np.ones(counts.nnz), counts.indices, counts.indptr), shape=counts.shape)  # counts > 0
        presence = (incidence @ pattern).tocsr()  # (videos, n-grams), nonzero = present
        video_of_entry = np.repeat(np.arange(presence.shape[0]), np.diff(presence.indptr))
        return np.bincount(presence.indices, weights=video_weights[video_of_entry], minlength=counts.shape[1])

    @staticmethod
    def _factorize_by_order(keys_by_order: Sequence[np.ndarray], first_code: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``pd.factorize`` of each order's packed keys, the codes of an order numbered on from the previous
        order's: one hash table per order is about 2.5x faster than one for all (smaller tables, fewer
        collisions). Returns the codes and the distinct keys of each order."""
        codes, distinct = [], []
        for keys in keys_by_order:
            order_codes, order_distinct = pd.factorize(keys)
            codes.append(order_codes + first_code)
            distinct.append(np.asarray(order_distinct, dtype=np.int64))
            first_code += len(order_distinct)
        return codes, distinct

    def _dense_codes(self, keys: np.ndarray) -> tuple[np.ndarray, int]:
        """``pd.factorize(keys)[0]`` up to a renumbering (by order, `_factorize_by_order`), and the number of
        distinct keys."""
        order = self._order_of_key(keys)
        positions = [np.flatnonzero(order == k) for k in range(self.n)]
        codes_by_order, distinct = self._factorize_by_order([keys[at] for at in positions])
        codes = np.empty(len(keys), dtype=np.int64)
        for at, order_codes in zip(positions, codes_by_order):
            codes[at] = order_codes
        return codes, sum(map(len, distinct))

    def _order_of_key(self, keys: np.ndarray) -> np.ndarray:
        # Packed keys of order k (0-based) lie in [B**k, B**(k+1)).
        order = np.zeros(len(keys), dtype=np.int64)
        for k in range(1, self.n):
            order += keys >= self._base**k
        return order

    # ------------------------------------------------------------------------------------------ scoring

    def compute_score(self, candidates: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, np.ndarray]:
        """Score each candidate against its references.

        Args:
            candidates (`list[str]`): one caption per sample.
            references (`list[list[str]]`): the reference captions of each sample (at least one each).

        Returns:
            `(mean, scores)`: the corpus score and the per-sample scores (`np.ndarray` of shape (N,)).
        """
        if len(candidates) != len(references):
            raise ValueError(
                f"got {len(candidates)} candidates but {len(references)} reference lists; pass one list per candidate."
            )
        for i, (candidate, refs) in enumerate(zip(candidates, references)):
            if not isinstance(candidate, str):
                raise TypeError(f"candidate {i} must be a string, got {type(candidate).__name__}.")
            if isinstance(refs, str) or len(refs) == 0:
                raise ValueError(f"sample {i} has no reference captions; every sample needs a non-empty list of strings.")
        if not candidates:
            return 0.0, np.zeros(0)
        try:
            return self._compute_score(candidates, references)
        finally:
            self._call_vocab = {}

    def _compute_score(self, candidates: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, np.ndarray]:
        if self._df_index is not None and self.reference_cache_entries:
            return self._compute_score_cached(candidates, references)
        num = len(candidates)

        # The distinct reference lists ("videos"; the K samples of a video share one) and the distinct sentences.
        video_of_candidate, videos = _index(map(tuple, references), num)
        num_refs = np.fromiter((len(r) for r in videos), dtype=np.int64, count=len(videos))
        ref_offset = np.cumsum(num_refs) - num_refs
        sentence_ids, sentences = _index(itertools.chain(candidates, itertools.chain.from_iterable(videos)), num + int(num_refs.sum()))
        candidate_sentence, ref_sentence = sentence_ids[:num], sentence_ids[num:]
        counts, keys, lengths = self._count_matrix(sentences)

        if self._df_index is None:
            # Corpus mode, as pycocoevalcap: one document per sample, so a reference list shared by k samples
            # counts k times.
            video_weights = np.bincount(video_of_candidate, minlength=len(videos)).astype(np.float64)
            video_of_ref = np.repeat(np.arange(len(videos)), num_refs)
            df = self._document_frequency(counts, video_of_ref, ref_sentence, video_weights)
            num_documents = num
        else:
            position = self._df_index.get_indexer(keys)
            df = np.where(position >= 0, self._df_values[np.maximum(position, 0)], 0.0)
            num_documents = self.num_documents
        idf = math.log(float(num_documents)) - np.log(np.maximum(df, 1.0))
        weights = counts.copy()
        weights.data = weights.data * idf[weights.indices]
        order_of_column = self._order_of_key(keys)
        row_of_entry = np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr))
        norms = np.sqrt(
            np.bincount(
                row_of_entry * self.n + order_of_column[weights.indices],
                weights=weights.data**2,
                minlength=weights.shape[0] * self.n,
            )
        ).reshape(-1, self.n)

        # Every (candidate, reference) pair: sum over shared n-grams of min(w_c, w_r) * w_r, per order.
        refs_per_candidate = num_refs[video_of_candidate]
        pair_candidate = np.repeat(np.arange(num), refs_per_candidate)
        first_pair = np.cumsum(refs_per_candidate) - refs_per_candidate
        pair_ref = ref_offset[video_of_candidate][pair_candidate] + np.arange(len(pair_candidate)) - first_pair[pair_candidate]
        hyp_rows = candidate_sentence[pair_candidate]
        ref_rows = ref_sentence[pair_ref]
        ref_weights = weights[ref_rows]
        clipped = weights[hyp_rows].minimum(ref_weights).multiply(ref_weights).tocsr()
        pair_of_entry = np.repeat(np.arange(len(pair_candidate)), np.diff(clipped.indptr))
        dots = np.bincount(
            pair_of_entry * self.n + order_of_column[clipped.indices],
            weights=clipped.data,
            minlength=len(pair_candidate) * self.n,
        ).reshape(-1, self.n)
        return self._scores(
            dots, norms[hyp_rows] * norms[ref_rows], lengths[hyp_rows] - lengths[ref_rows], pair_candidate, refs_per_candidate
        )

    def _scores(
        self,
        dots: np.ndarray,
        norm_products: np.ndarray,
        delta: np.ndarray,
        pair_candidate: np.ndarray,
        refs_per_candidate: np.ndarray,
    ) -> tuple[float, np.ndarray]:
        """The scores from each (candidate, reference) pair's clipped dot products per order (P, n), the
        products of their norms (P, n) and their length differences (P,)."""
        # pycocoevalcap divides only where both norms are nonzero.
        dots = np.where(norm_products != 0, dots / np.where(norm_products != 0, norm_products, 1.0), dots)
        pair_scores = dots.mean(axis=1) * np.exp(-(delta**2) / (2 * self.sigma**2))
        scores = 10.0 * np.bincount(pair_candidate, weights=pair_scores, minlength=len(refs_per_candidate)) / refs_per_candidate
        return float(scores.mean()), scores

    # ------------------------------------------------------------------------- fixed mode, cached references

    def _idf(self, keys: np.ndarray) -> np.ndarray:
        """Inverse document frequency of each packed n-gram under the fixed document frequencies."""
        position = self._df_index.get_indexer(keys)
        df = np.where(position >= 0, self._df_values[np.maximum(position, 0)], 0.0)
        return math.log(float(self.num_documents)) - np.log(np.maximum(df, 1.0))

    def _norms(self, row_of_entry: np.ndarray, order: np.ndarray, weight: np.ndarray, num_rows: int) -> np.ndarray:
        """(rows, n) Euclidean norm of each row's vector, order by order."""
        return np.sqrt(
            np.bincount(row_of_entry * self.n + order, weights=weight**2, minlength=num_rows * self.n)
        ).reshape(-1, self.n)

    @staticmethod
    def _expand(starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The indices ``starts[i] .. starts[i] + sizes[i] - 1`` of every i, concatenated, and the i of each."""
        owner = np.repeat(np.arange(len(sizes)), sizes)
        first = np.cumsum(sizes) - sizes
        return starts[owner] + np.arange(len(owner)) - first[owner], owner

    def _reference_vectors(self, videos: list[tuple[str, ...]]) -> list[_ReferenceVectors]:
        """The vectors of each (distinct) reference list, from the cache or computed in one pass."""
        cache = self._reference_cache
        if len(self._vocab) - self._df_vocab_size > (self._base - self._df_vocab_size) // 2:
            # The words of cached references keep their ids; start over before they take more than half of the
            # room the document-frequency words leave under the packing limit.
            self.clear_reference_cache()
        missing = [video for video in videos if video not in cache]
        for video in videos:
            if video in cache:
                cache.move_to_end(video)  # most recently used last: the oldest are dropped first
        if missing:
            num_refs = np.fromiter(map(len, missing), dtype=np.int64, count=len(missing))
            sentence_of_ref, sentences = _index(itertools.chain.from_iterable(missing), int(num_refs.sum()))
            counts, keys, lengths = self._count_matrix(sentences)
            self._keep_call_words()  # only reference words so far in this call: their ids now last
            weight = counts.data * self._idf(keys)[counts.indices]
            row_sizes = np.diff(counts.indptr)
            norms = self._norms(np.repeat(np.arange(counts.shape[0]), row_sizes), self._order_of_key(keys)[counts.indices], weight, counts.shape[0])
            # Entries of each reference position (a sentence repeated in a list counts each time), list by list.
            entry, ref_of_entry = self._expand(counts.indptr[:-1][sentence_of_ref], row_sizes[sentence_of_ref])
            ref_offset = np.cumsum(num_refs) - num_refs
            local_ref = (ref_of_entry - np.repeat(ref_offset, num_refs)[ref_of_entry]).astype(np.int32)
            entry_key, entry_weight = keys[counts.indices[entry]], weight[entry]
            bounds = np.concatenate([[0], np.cumsum(np.bincount(np.repeat(np.arange(len(missing)), num_refs)[ref_of_entry], minlength=len(missing)))])
            for j, video in enumerate(missing):
                a, b = bounds[j], bounds[j + 1]
                rows = sentence_of_ref[ref_offset[j] : ref_offset[j] + num_refs[j]]
                cache[video] = _ReferenceVectors(entry_key[a:b], local_ref[a:b], entry_weight[a:b], norms[rows], lengths[rows])
                self._reference_cache_size += int(b - a)
        vectors = [cache[video] for video in videos]
        while self._reference_cache_size > self.reference_cache_entries and cache:
            self._reference_cache_size -= len(cache.popitem(last=False)[1].key)
        return vectors

    def _compute_score_cached(self, candidates: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, np.ndarray]:
        num = len(candidates)
        video_of_candidate, videos = _index(map(tuple, references), num)
        vectors = self._reference_vectors(videos)  # before the candidates: their words are call-only
        num_refs = np.fromiter((len(v.length) for v in vectors), dtype=np.int64, count=len(vectors))
        ref_offset = np.cumsum(num_refs) - num_refs
        sizes = np.fromiter((len(v.key) for v in vectors), dtype=np.int64, count=len(vectors))
        ref_key = np.concatenate([v.key for v in vectors])
        ref_weight = np.concatenate([v.weight for v in vectors])
        ref_video = np.repeat(np.arange(len(vectors)), sizes)
        ref_row = np.concatenate([v.reference for v in vectors]) + np.repeat(ref_offset, sizes)
        ref_norms = np.concatenate([v.norms for v in vectors])
        ref_lengths = np.concatenate([v.length for v in vectors])

        # The candidates' vectors, distinct sentences once; then each candidate's entries.
        sentence_of_candidate, sentences = _index(candidates, num)
        grams = self._grams(sentences)
        weight = grams.tf * self._idf(grams.key)
        order = self._order_of_key(grams.key)
        norms = self._norms(grams.sentence, order, weight, len(sentences))
        entries_per_sentence = np.bincount(grams.sentence, minlength=len(sentences))  # grams are sentence-major
        sentence_start = np.cumsum(entries_per_sentence) - entries_per_sentence
        entry, candidate_of_entry = self._expand(sentence_start[sentence_of_candidate], entries_per_sentence[sentence_of_candidate])
        video_of_entry = video_of_candidate[candidate_of_entry]

        # Each candidate n-gram meets the entries of the same n-gram in its video's references: a join on
        # (video, n-gram), with n-grams renumbered densely so that the pair fits one int64.
        codes, num_codes = self._dense_codes(np.concatenate([ref_key, grams.key[entry]]))
        ref_code, candidate_code = codes[: len(ref_key)], codes[len(ref_key) :]
        in_candidates = np.zeros(num_codes, dtype=bool)
        in_candidates[candidate_code] = True
        shared = np.flatnonzero(in_candidates[ref_code])  # reference entries whose n-gram some candidate has
        ref_code = ref_video[shared] * num_codes + ref_code[shared]
        candidate_code = video_of_entry * num_codes + candidate_code
        by_code = np.argsort(ref_code, kind="stable")
        sorted_code = ref_code[by_code]
        low = np.searchsorted(sorted_code, candidate_code, side="left")
        matched, match_entry = self._expand(low, np.searchsorted(sorted_code, candidate_code, side="right") - low)
        match_ref = shared[by_code[matched]]
        ref_w, candidate_w = ref_weight[match_ref], weight[entry[match_entry]]

        refs_per_candidate = num_refs[video_of_candidate]
        pair_first = np.cumsum(refs_per_candidate) - refs_per_candidate
        match_candidate = candidate_of_entry[match_entry]
        match_pair = pair_first[match_candidate] + ref_row[match_ref] - ref_offset[video_of_candidate[match_candidate]]
        num_pairs = int(refs_per_candidate.sum())
        dots = np.bincount(
            match_pair * self.n + order[entry[match_entry]],
            weights=np.minimum(candidate_w, ref_w) * ref_w,
            minlength=num_pairs * self.n,
        ).reshape(-1, self.n)
        pair_ref, pair_candidate = self._expand(ref_offset[video_of_candidate], refs_per_candidate)
        hyp_rows = sentence_of_candidate[pair_candidate]
        return self._scores(
            dots, norms[hyp_rows] * ref_norms[pair_ref], grams.length[hyp_rows] - ref_lengths[pair_ref], pair_candidate, refs_per_candidate
        )
