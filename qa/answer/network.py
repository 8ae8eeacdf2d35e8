"""The reader network: a small convolutional reader over characters, cheap enough for CPU.

Question and passage characters are embedded with their part-of-speech and
word-boundary tags; the passage also carries the question-overlap flags of
qa.answer.encoding. Residual dilated convolutions encode both; each passage
character attends over the question's characters; more convolutions model the
fused sequence; linear heads give start and end scores per character, and a
"no answer here" score per passage from its pooled encoding and the question's.

Why convolutions and not recurrent layers: on one CPU thread a dilated
convolution over five 300-character passages costs under 1 ms, a bidirectional
LSTM three times that, and the answer step has a 10 ms budget. Training runs these
modules in PyTorch; serving runs the same network exported as a graph (written by qa.answer.export,
read by qa.answer.graph without PyTorch).

Start and end are scored independently, so nothing in them can say that a 多少
answer rarely runs over a comma while a 为什么 answer often does. A fourth head does:
from the same pooled passage and question vectors as the no-answer score, a logit that
the answer crosses a clause break (qa.answer.decoding weighs every span with it). It is
not trained with the spans: it is fitted afterwards on the trained network's vectors of
the training questions (eval/train_reader.py), like the calibrator; all zero, it changes
no ranking.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from qa.answer.encoding import FLAGS, Batch
from qa.answer.vocabulary import BOUNDARIES, POS_TAGS

NEG = -1e4  # a logit no real position reaches: padding and impossible spans


@dataclass
class ReaderConfig:
    """The network's sizes; saved with the weights."""

    vocabulary_size: int
    char_dim: int = 64
    pos_dim: int = 8
    boundary_dim: int = 4
    hidden: int = 64
    encoder_dilations: tuple[int, ...] = (1, 2)
    model_dilations: tuple[int, ...] = (1, 2, 4)
    dropout: float = 0.1
    # Depthwise-separable convolutions (a width-5 filter per channel, then a 1x1 mix): about a
    # third of the multiply-adds of a full width-3 convolution at this size.
    separable: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


class ConvBlock(nn.Module):
    """Pre-norm residual convolution: x + dropout(relu(conv(norm(x)))), padding kept at zero."""

    def __init__(self, hidden: int, dilation: int, dropout: float, separable: bool = True):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        if separable:
            self.conv = nn.Sequential(
                nn.Conv1d(hidden, hidden, 5, padding=2 * dilation, dilation=dilation, groups=hidden),
                nn.Conv1d(hidden, hidden, 1),
            )
        else:
            self.conv = nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return (x + self.dropout(torch.relu(y))) * mask.unsqueeze(-1)


class ConvStack(nn.Module):
    """Convolution blocks with growing dilation: a receptive field of dozens of characters."""

    def __init__(self, hidden: int, dilations: tuple[int, ...], dropout: float, separable: bool = True):
        super().__init__()
        self.blocks = nn.ModuleList(ConvBlock(hidden, d, dropout, separable) for d in dilations)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


class ReaderNetwork(nn.Module):
    """Scores answer starts and ends in passages, and the absence of an answer in each."""

    def __init__(self, config: ReaderConfig):
        super().__init__()
        self.config = config
        h = config.hidden
        self.char = nn.Embedding(config.vocabulary_size, config.char_dim, padding_idx=0)
        self.pos = nn.Embedding(len(POS_TAGS), config.pos_dim, padding_idx=0)
        self.boundary = nn.Embedding(len(BOUNDARIES), config.boundary_dim, padding_idx=0)
        tagged = config.char_dim + config.pos_dim + config.boundary_dim
        self.question_in = nn.Linear(tagged, h)
        self.passage_in = nn.Linear(tagged + len(FLAGS), h)
        self.question_encoder = ConvStack(h, config.encoder_dilations, config.dropout, config.separable)
        self.passage_encoder = ConvStack(h, config.encoder_dilations, config.dropout, config.separable)
        self.question_pool = nn.Linear(h, 1)
        self.fuse = nn.Linear(4 * h, h)
        self.modeler = ConvStack(h, config.model_dilations, config.dropout, config.separable)
        self.start = nn.Linear(2 * h, 1)
        self.end_block = ConvBlock(h, 1, config.dropout, config.separable)
        self.end = nn.Linear(2 * h, 1)
        self.no_answer = nn.Sequential(nn.Linear(3 * h, h), nn.ReLU(), nn.Linear(h, 1))
        # Made without drawing random numbers, so a seed gives the other weights it gave before
        # this head existed; it starts at zero and is fitted after training.
        self.crossing = nn.utils.skip_init(nn.Linear, 3 * h, 1)
        nn.init.zeros_(self.crossing.weight)
        nn.init.zeros_(self.crossing.bias)
        self.dropout = nn.Dropout(config.dropout)

    def _tagged(self, chars, pos, boundary) -> torch.Tensor:
        return torch.cat([self.char(chars), self.pos(pos), self.boundary(boundary)], dim=-1)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(start logits, end logits, no-answer logit, clause-crossing logit): (B, L), (B, L), (B,), (B,);
        padding at NEG."""
        start, end, summary = self.spans_and_summary(batch)
        return start, end, self.no_answer(summary).squeeze(-1), self.crossing(summary).squeeze(-1)

    def spans_and_summary(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Start and end logits, and the (B, 3h) summary of passage and question the no-answer and
        crossing heads read."""
        batch = as_tensors(batch)
        q_mask, p_mask = batch.question_mask, batch.passage_mask
        q = self.dropout(self._tagged(batch.question_chars, batch.question_pos, batch.question_boundary))
        q = self.question_encoder(torch.relu(self.question_in(q)) * q_mask.unsqueeze(-1), q_mask)
        p = self.dropout(self._tagged(batch.passage_chars, batch.passage_pos, batch.passage_boundary))
        p = torch.cat([p, batch.passage_flags], dim=-1)
        p = self.passage_encoder(torch.relu(self.passage_in(p)) * p_mask.unsqueeze(-1), p_mask)

        # The question as one vector: attention-pooled over its characters.
        weights = self.question_pool(q).squeeze(-1).masked_fill(~q_mask, NEG).softmax(-1)
        q_vector = (weights.unsqueeze(-1) * q).sum(1)

        # Each passage character's view of the question.
        affinity = (p @ q.transpose(1, 2)) / (p.shape[-1] ** 0.5)
        attended = affinity.masked_fill(~q_mask.unsqueeze(1), NEG).softmax(-1) @ q
        fused = torch.cat([p, attended, p * attended, p * q_vector.unsqueeze(1)], dim=-1)
        h = self.modeler(torch.relu(self.fuse(fused)) * p_mask.unsqueeze(-1), p_mask)

        expanded = q_vector.unsqueeze(1).expand_as(h)
        start = self.start(torch.cat([h, h * expanded], -1)).squeeze(-1)
        h_end = self.end_block(h, p_mask)
        end = self.end(torch.cat([h_end, h_end * expanded], -1)).squeeze(-1)
        pooled = h.masked_fill(~p_mask.unsqueeze(-1), NEG).max(1).values
        pooled_end = h_end.masked_fill(~p_mask.unsqueeze(-1), NEG).max(1).values
        summary = torch.cat([pooled, pooled_end, q_vector], -1)
        return start.masked_fill(~p_mask, NEG), end.masked_fill(~p_mask, NEG), summary


Scores = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def as_tensors(batch: Batch) -> Batch:
    """The batch with its arrays as tensors (sharing their memory): qa.answer.encoding collates numpy
    arrays, so that reading, which runs the exported graphs, never needs PyTorch."""
    return Batch(*(torch.as_tensor(getattr(batch, field.name)) for field in fields(Batch)))


def null_first_log_softmax(scores: torch.Tensor, no_answer: torch.Tensor) -> torch.Tensor:
    """(B, 1 + L): log-softmax over "no answer" (column 0) and every position, as
    qa.answer.decoding.log_probabilities computes it for reading; here with gradients, for the loss."""
    return torch.cat([no_answer.unsqueeze(1), scores], 1).log_softmax(1)


class ReaderEnsemble(nn.Module):
    """Readers trained alike from different random starts, read as one: their start, end,
    no-answer and crossing logits are averaged. Why: on the dev splits two members answered about 3 points of
    exact match more than either alone (eval/ABLATIONS.md), for one more small network per question."""

    def __init__(self, members: list[ReaderNetwork]):
        super().__init__()
        if not members or any(m.config != members[0].config for m in members):
            raise ValueError("an ensemble needs at least one member, all of the same configuration")
        self.members = nn.ModuleList(members)
        self.config = members[0].config

    def forward(self, batch: Batch) -> Scores:
        scores = [member(batch) for member in self.members]
        if len(scores) == 1:
            return scores[0]
        return tuple(torch.stack(parts).mean(0) for parts in zip(*scores))
