"""ONNX Runtime sessions as the answer package runs its graphs: the reader network
(qa.answer.graph) and the span ranker's trees (qa.answer.ranking).

One thread per question, as the answer step is measured and served: a server's
parallelism is its worker processes, not threads inside one reading. Made in one
place so the two graphs cannot drift apart in how they run.
"""

from __future__ import annotations


def one_thread_session(graph: bytes):
    """An ONNX Runtime session over a serialized graph, on one thread, logging errors only.

    Safe to run from many threads at once (ONNX Runtime sessions are)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
