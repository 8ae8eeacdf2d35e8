"""ONNX Runtime sessions as the answer package runs its graphs: the reader network
(qa.answer.graph) and the span ranker's trees (qa.answer.ranking).

One thread per graph: ONNX Runtime's own threads did not pay at these sizes (two
intra-op threads made the reader slower, its parallel executor saved under 0.2 ms;
eval/ABLATIONS.md). A reading may run its members' graphs at once, each on its own
thread (qa.answer.graph), and a server's further parallelism is its worker processes.
Made in one place so the graphs cannot drift apart in how they run.
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
