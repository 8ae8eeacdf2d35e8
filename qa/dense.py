"""The dense half of the index: a FAISS index of normalised embeddings, searched by inner product.

``flat`` is exact. ``hnsw`` and ``ivf`` are approximate, for corpora of hundreds of
thousands of chunks and more. ``auto`` (the default) chooses per segment by its size:
flat below ``AUTO_APPROXIMATE_FROM`` chunks, hnsw from there, so a small addition stays
exact and a large build or compaction gets the graph. Vectors carry their chunk ids
(``IndexIDMap2`` or IVF's own ids), so chunks can later be added and removed
without renumbering.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import faiss
import numpy as np

from qa.page_cache import read_span

INDEX_TYPES = ("auto", "flat", "hnsw", "ivf")
# Chunks from which "auto" builds HNSW. Exact search grows linearly: measured by `qa bench` (bench/RESULTS.md),
# flat FAISS p50 was 2.6 ms at 10k chunks and 16 ms at 100k, HNSW 0.35 ms at 100k with recall@10 0.96.
AUTO_APPROXIMATE_FROM = 50_000
# Segments smaller than this are exact (flat) whatever the index type: searching them costs nothing,
# and approximate indexes need more points than an addition brings to train on.
APPROXIMATE_FROM_CHUNKS = 1000
HNSW_NEIGHBOURS = 32
# Candidates an HNSW search keeps (FAISS's default is 16). Measured on 100,006 chunks with 500 CMRC 2018
# question vectors, recall@10 against exact search: 16 → 0.597, 64 → 0.807, 128 → 0.889, 256 → 0.947,
# 384 → 0.962 (p50 2.45 ms, exact search 16 ms), 512 → 0.971. Saved in the index file.
HNSW_SEARCH_DEPTH = 384
IVF_PROBES = 16


def resolve_kind(kind: str, chunks: int) -> str:
    """The FAISS index type built for a segment of this many chunks: kind itself, unless it is "auto" or tiny."""
    if kind == "auto":
        return "hnsw" if chunks >= AUTO_APPROXIMATE_FROM else "flat"
    return kind if chunks >= APPROXIMATE_FROM_CHUNKS else "flat"


# FAISS index files open with the same header: a four-byte type code, then the dimension (int32) and the
# vector count (int64), little-endian (faiss/impl/index_read.cpp, read_index_header).
_HEADER = struct.Struct("<4siq")


def read_ahead_all_but_vectors(path: str | Path) -> int:
    """Read a FAISS file's bytes into the page cache in large sequential reads, all but its float vectors;
    returns the bytes read.

    Why: loading memory-mapped (IO_FLAG_MMAP_IFC) maps the vectors and copies the rest (an HNSW graph,
    IVF centroids, the id map), and a file not yet in the page cache was then copied through page faults
    of a few pages each: 0.67 s for the 27 MB graph of 100,006 chunks, against 0.07 s after this read
    (dense.faiss of bench/, caches dropped). The vectors (d x n float32) lie after the graph and before
    the id map (n int64), as faiss writes them; a file of another layout is only read ahead in vain."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb", buffering=0) as file:
        header = file.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return 0
        _, dim, count = _HEADER.unpack(header)
        vectors = dim * count * 4
        ids = count * 8
        head = size - vectors - ids
        if dim <= 0 or count < 0 or head < 0:
            return 0
        read = read_span(file, 0, head)
        return read + read_span(file, size - ids, ids)


class DenseIndex:
    """Inner-product search over chunk embeddings, keyed by chunk id."""

    def __init__(self, index: faiss.Index):
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, kind: str = "flat") -> "DenseIndex":
        """Index vectors (rows L2-normalised) under their chunk ids with the chosen index type."""
        if kind not in INDEX_TYPES:
            raise ValueError(f"unknown dense index type {kind!r}; choose one of {', '.join(INDEX_TYPES)}")
        dim = vectors.shape[1]
        kind = resolve_kind(kind, len(vectors))
        if kind == "ivf":
            # Each list needs a few dozen training points; sqrt(n) lists is the usual balance.
            lists = max(1, min(int(4 * math.sqrt(len(vectors))), len(vectors) // 39))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
            index.nprobe = min(IVF_PROBES, lists)
            built = cls(index)
        elif kind == "hnsw":
            built = cls.graph(dim)
        else:
            built = cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))
        built.add(vectors, ids)
        return built

    @classmethod
    def graph(cls, dim: int, neighbours: int = HNSW_NEIGHBOURS, construction_depth: int | None = None) -> "DenseIndex":
        """An empty HNSW index, to add vectors to in batches; neighbours is FAISS's M, construction_depth
        its efConstruction (FAISS's default, 40, when None)."""
        graph = faiss.IndexHNSWFlat(dim, neighbours, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efSearch = HNSW_SEARCH_DEPTH
        if construction_depth is not None:
            graph.hnsw.efConstruction = construction_depth
        return cls(faiss.IndexIDMap2(graph))

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add vectors (rows L2-normalised) under their chunk ids."""
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self.index.d

    def __len__(self) -> int:
        return self.index.ntotal

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk ids) for one (1, dim) query row; missing hits are dropped."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = self.index.search(np.ascontiguousarray(query, dtype=np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (chunk id, vector) held, read back from the index (for compaction; no re-encoding)."""
        if isinstance(self.index, faiss.IndexIDMap2):
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            return ids, faiss.downcast_index(self.index.index).reconstruct_n(0, len(ids))
        ivf = faiss.extract_index_ivf(self.index)
        lists = ivf.invlists
        ids = np.concatenate(
            [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy() for i in range(ivf.nlist)]
            or [np.zeros(0, np.int64)]
        ).astype(np.int64)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        return ids, ivf.reconstruct_batch(ids) if len(ids) else np.zeros((0, self.dim), np.float32)

    def save(self, path: str | Path) -> None:
        """Write the index to one file."""
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: str | Path, mmap: bool = False) -> "DenseIndex":
        """Read an index file; with mmap, its vectors (flat, HNSW and IVF alike) stay in the file, mapped
        read-only, not copied (FAISS's IO_FLAG_MMAP_IFC): processes serving one index share one copy in
        the page cache. The file must then never change in place (writers make new files, qa.commit)."""
        if mmap:
            read_ahead_all_but_vectors(path)
        flags = faiss.IO_FLAG_MMAP_IFC if mmap else 0
        return cls(faiss.read_index(str(path), flags))
