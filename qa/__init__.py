"""Retrieval question answering over Chinese articles.

Articles are split into paragraph chunks, indexed twice (FAISS over sentence
embeddings, BM25 over jieba tokens), and answered by an extractive reader that
cuts the short answer out of the evidence sentence. ``Engine`` is the entry point
for the command line, the web server and the evaluation harness alike.
"""

__version__ = "0.1.0"
