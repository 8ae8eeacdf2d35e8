"""The Milvus collections of an index: their fields, indexes and the BM25 function.

For a base name NAME (``QA_MILVUS_COLLECTION``) an index is:

* ``NAME_meta``: one row, the manifest of the current generation, naming the two
  collections below (qa.backends.milvus.manifest). Switching a build is
  rewriting this row.
* ``NAME_<generation>_chunks``: one row per chunk, keyed by chunk id: article id,
  paragraph, character offsets, text, heading, the offset map and POS tags (JSON),
  the BM25 tokens (JSON), the dense vector, and ``sparse``, a BM25 vector that
  Milvus itself makes from ``bm25_text`` with a BM25 function.
* ``NAME_<generation>_articles``: the articles (title, source, path, sha256,
  added_at, text), the text cut into parts of at most TEXT_PART_CHARS
  characters since a Milvus VARCHAR holds at most 65,535 bytes.

Milvus wants a vector field in every collection; the meta and articles
collections carry a 2-dimensional placeholder nobody searches.
"""

from __future__ import annotations

import re

from pymilvus import DataType, Function, FunctionType, MilvusClient

from qa.settings import Settings

MAX_VARCHAR = 65535  # bytes, Milvus's limit for one VARCHAR value
TEXT_PART_CHARS = 16000  # at most 64,000 bytes of UTF-8 (4 bytes a character at worst, 3 for CJK)
MAX_ID = 512
PLACEHOLDER_DIM = 2
PLACEHOLDER = [0.0] * PLACEHOLDER_DIM
# bm25s's defaults, so that Milvus's BM25 ranks as the local index does (Milvus Lite's own default k1 is 1.5).
BM25_K1, BM25_B = 1.2, 0.75
HNSW_PARAMS = {"M": 16, "efConstruction": 200}
HNSW_EF = 128  # search breadth; at least the number of candidates asked for (QA_CANDIDATES, 30)
IVF_NLIST, IVF_NPROBE = 128, 16

CHUNK_FIELDS = ["id", "article_id", "paragraph", "start_offset", "end_offset", "text", "heading", "segments", "tags"]
ARTICLE_INFO_FIELDS = ["article_id", "title", "source", "path", "sha256", "chunk_count", "added_at"]


def meta_name(base: str) -> str:
    """The meta collection of an index."""
    return f"{base}_meta"


def generation_names(base: str, generation: str) -> dict[str, str]:
    """The chunks and articles collections of one build."""
    return {"chunks": f"{base}_{generation[:12]}_chunks", "articles": f"{base}_{generation[:12]}_articles"}


def analyzer_params(analyzer: str, lite: bool) -> dict:
    """How Milvus cuts bm25_text into terms.

    "tokens": bm25_text is our tokens joined by spaces (qa.tokenization), so Milvus counts
    the very terms bm25s counts. A server splits it with the whitespace tokenizer; Milvus
    Lite has only "standard" and "jieba" ("unknown tokenizer type ... supported: 'standard',
    'jieba'"), and its standard tokenizer (\\w+, lower-cased) gives the same terms because
    bm25_words leaves only word characters in each token.
    "jieba": bm25_text is the chunk's text and Milvus cuts it with its jieba tokenizer in search mode.
    """
    if analyzer == "tokens":
        return {"tokenizer": "standard"} if lite else {"tokenizer": "whitespace"}
    return {"tokenizer": {"type": "jieba", "mode": "search"}}


_NOT_WORD = re.compile(r"\W")


def bm25_words(tokens: list[str]) -> str:
    """Tokens as one space-separated text whose every token is one whole word for either tokenizer."""
    return " ".join(_NOT_WORD.sub("_", token) for token in tokens)


def _dense_index(settings: Settings) -> tuple[str, dict]:
    kind = settings.milvus_dense_index
    if kind == "HNSW":
        return kind, HNSW_PARAMS
    if kind == "IVF_FLAT":
        return kind, {"nlist": IVF_NLIST}
    return kind, {}


def _nested(params: dict) -> dict:
    """Index build parameters in the request's "params" entry, as one JSON object.

    pymilvus 3 sends each build parameter as its own key; Milvus Lite 3.2 reads only the
    "params" entry (its describe_index showed no parameters, and BM25 scored with its default
    k1 1.5), servers read both. Nested, they reach both.
    """
    return {"params": params} if params else {}


def dense_search_params(settings: Settings, k: int) -> dict:
    """Search parameters of the dense index: breadth at least k."""
    kind = settings.milvus_dense_index
    params = {"ef": max(HNSW_EF, k)} if kind == "HNSW" else {"nprobe": IVF_NPROBE} if kind == "IVF_FLAT" else {}
    return {"metric_type": "IP", "params": params}


def create_chunks(client: MilvusClient, name: str, dim: int, settings: Settings, lite: bool) -> None:
    """Create (and load) a chunks collection for dim-dimensional vectors."""
    schema = client.create_schema(auto_id=False, description="qa chunks")
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("article_id", DataType.VARCHAR, max_length=MAX_ID)
    for field in ("paragraph", "start_offset", "end_offset"):
        schema.add_field(field, DataType.INT64)
    for field in ("text", "heading", "segments", "tags", "tokens"):
        schema.add_field(field, DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("bm25_text", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                     analyzer_params=analyzer_params(settings.milvus_analyzer, lite))
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["bm25_text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params=_nested({"bm25_k1": BM25_K1, "bm25_b": BM25_B}))
    kind, params = _dense_index(settings)
    index.add_index("dense", index_type=kind, metric_type="IP", params=_nested(params))
    index.add_index("article_id", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=index)


def _placeholder(schema, client: MilvusClient):
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=PLACEHOLDER_DIM)
    index = client.prepare_index_params()
    index.add_index("placeholder", index_type="FLAT", metric_type="L2")
    return index


def create_articles(client: MilvusClient, name: str) -> None:
    """Create (and load) an articles collection: one row per part of an article's text."""
    schema = client.create_schema(auto_id=False, description="qa articles")
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=MAX_ID + 16)  # article id + "#" + part
    schema.add_field("article_id", DataType.VARCHAR, max_length=MAX_ID)
    for field in ("part", "parts", "version", "chunk_count"):
        schema.add_field(field, DataType.INT64)
    for field in ("title", "source", "path", "sha256", "added_at", "text"):
        schema.add_field(field, DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("markdown", DataType.BOOL)
    index = _placeholder(schema, client)
    index.add_index("article_id", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=index)


def create_meta(client: MilvusClient, name: str) -> None:
    """Create (and load) the meta collection, unless it exists."""
    if client.has_collection(name):
        return
    schema = client.create_schema(auto_id=False, description="qa index manifest")
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("manifest", DataType.VARCHAR, max_length=MAX_VARCHAR)
    client.create_collection(name, schema=schema, index_params=_placeholder(schema, client))
